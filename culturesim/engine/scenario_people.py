"""The scenario's parameters of how staff feel and act: workload, strain, pressure, behaviour,
the choice of victims, aggression, socialisation, how bullying is observed and counted, speaking
up and cascades (docs/ODD.md section 7).
"""

from __future__ import annotations

from culturesim.engine.parameter import param
from culturesim.schema import Section


class Workload(Section):
    staffing_floor: float = param(
        0.2,
        0.01,
        1,
        source="assumption: below a fifth of its posts a team is propped up by bank staff",
        doc="Staffed share below which a team's workload rises no further (Eq. 2).",
    )


class Strain(Section):
    baseline_logit: float = param(
        -1.2,
        -6,
        6,
        source="assumption: resting strain about 0.25",
        doc="Strain's target at rest (logit).",
    )
    workload_weight: float = param(
        3.0,
        0,
        20,
        source="Homer 1985 burnout dynamics; assumption",
        doc="Logit rise of target strain per unit of workload above 1.",
    )
    pressure_weight: float = param(
        1.5, 0, 20, source="assumption", doc="Logit rise per unit of pressure felt from above."
    )
    bullied_weight: float = param(
        1.0,
        0,
        20,
        source="assumption: one act by staff weighs as one act of public aggression",
        doc="Logit rise in a week the person suffers a negative act by staff (acute, one act).",
    )
    persistent_weight: float = param(
        1.5,
        0,
        20,
        source="Nielsen & Einarsen 2012: persistent bullying strongly predicts strain",
        doc="Logit rise while persistently bullied (chronic; on top of each act's own rise).",
    )
    aggression_weight: float = param(
        1.0, 0, 20, source="assumption", doc="Logit rise in a week of patient or public aggression."
    )
    support_weight: float = param(
        1.5,
        0,
        20,
        source="social support buffers strain (Bakker 2005); assumption",
        doc="Logit fall per unit of compassion received.",
    )
    resilience_weight: float = param(
        2.0, 0, 20, source="assumption", doc="Logit fall per unit of resilience above 0.5."
    )
    time_constant_weeks: float = param(
        6.0,
        1,
        104,
        unit="weeks",
        source="assumption: strain follows load over about 6 weeks",
        doc="Weeks for strain to close 63% of the gap to its target.",
    )


class Pressure(Section):
    transmission: float = param(
        0.9,
        0,
        1,
        source="trickle-down (Mawritz et al. 2012); assumption",
        doc="Share of a leader's felt pressure passed to each report.",
    )
    leader_buffering: float = param(
        0.5,
        0,
        1,
        source="compassionate leadership buffers (West et al.); assumption",
        doc="Share of pressure a fully compassionate leader absorbs instead of passing down.",
    )


class Behaviour(Section):
    bullying_baseline_logit: float = param(
        -7.47,
        -15,
        5,
        source="calibrated (experiments/calibrate.py)",
        doc="Logit of bullying in a week for an average, unstrained person.",
    )
    leader_logit_offset: float = param(
        2.87,
        -5,
        5,
        source="calibrated (experiments/calibrate.py)",
        doc="Added to the bullying logit of people who lead a team (power).",
    )
    strain_weight: float = param(
        3.0,
        0,
        20,
        source="frustration-aggression; Baillien et al. 2009",
        doc="Logit rise of bullying per unit of strain.",
    )
    victimisation_weight: float = param(
        1.5,
        0,
        20,
        source="Hauge et al. 2009: being a target is the strongest predictor",
        doc="Logit rise of bullying while persistently bullied (docs/ODD.md 7.7a).",
    )
    habit_weight: float = param(
        17.9,
        0,
        50,
        source="calibrated (experiments/calibrate.py); bullying is a sustained pattern of "
        "one or a few perpetrators (Leymann 1996)",
        doc="Logit rise per unit of one's own recent share of weeks bullying (habit).",
    )
    norm_weight: float = param(
        3.0,
        0,
        50,
        source="prior, not fitted (docs/ODD.md section 8): social learning and trickle-down, "
        "Harrison & Carroll 1991, Mawritz et al. 2012, Bakker et al. 2005",
        doc="Logit rise per unit of local bullying norm (neighbours' recent bullying share).",
    )
    compassion_weight: float = param(
        29.1,
        0,
        50,
        source="calibrated (experiments/calibrate.py); perpetrators are a minority "
        "(Matthiesen & Einarsen 2007)",
        doc="Logit fall per unit of compassion disposition above 0.5.",
    )
    support_weight: float = param(
        1.0, 0, 20, source="assumption", doc="Logit fall per unit of compassion received."
    )
    compassion_baseline_logit: float = param(
        -0.2, -10, 10, source="assumption", doc="Logit of acting compassionately (if not bullying)."
    )
    compassion_disposition_weight: float = param(
        4.0, 0, 20, source="assumption", doc="Its rise per unit of disposition above 0.5."
    )
    compassion_strain_weight: float = param(
        2.0, 0, 20, source="compassion fatigue; assumption", doc="Its fall per unit of strain."
    )
    compassion_norm_weight: float = param(
        2.0, 0, 20, source="assumption", doc="Its rise per unit of local compassion norm above 0.5."
    )
    norm_memory_weeks: float = param(
        8.0,
        1,
        104,
        unit="weeks",
        source="assumption",
        doc="Memory of the exponentially weighted behaviour shares that make local norms.",
    )
    newcomer_norm_boost: float = param(
        1.0,
        0,
        10,
        source="socialisation is fastest early (Harrison & Carroll 1991)",
        doc="Extra weight on local norms for a newcomer, fading with tenure.",
    )


class Targets(Section):
    downward_weight: float = param(
        0.5,
        0,
        1,
        source="calibrated (experiments/calibrate.py); bullying runs mostly downwards",
        doc="Weight a bully with reports gives to picking one of them.",
    )
    sideways_weight: float = param(
        0.09,
        0,
        1,
        source="assumption: a peer 9 times as often as one's manager",
        doc="Weight given to picking a colleague (peer tie).",
    )
    upward_weight: float = param(
        0.01,
        0,
        1,
        source="assumption: upward bullying is rare (Carter et al. 2013)",
        doc="Weight given to picking one's own manager.",
    )
    repeat_probability: float = param(
        0.896,
        0,
        1,
        source="calibrated (experiments/calibrate.py); bullying targets a person "
        "repeatedly (Leymann 1996; Einarsen et al. 2009)",
        doc="Chance a bully picks their last target again, if that person is still in post.",
    )


class Aggression(Section):
    weekly_rate: float = param(
        0.00619,
        0,
        0.5,
        unit="per person per week",
        source="calibrated (experiments/calibrate.py)",
        doc="Rate of patient and public aggression on a patient-facing person at demand 1.",
    )
    non_patient_facing_exposure: float = param(
        0.2,
        0,
        1,
        source="assumption",
        doc="Relative exposure of managers, directors and chief executives (not patient-facing).",
    )


class Socialisation(Section):
    rate: float = param(
        0.002,
        0,
        1,
        unit="per week",
        source="Harrison & Carroll 1991; assumption",
        doc="Weekly pull of a settled person's disposition towards their neighbours'.",
    )
    newcomer_rate: float = param(
        0.02,
        0,
        1,
        unit="per week",
        source="Harrison & Carroll 1991; assumption",
        doc="Extra pull for a newcomer, fading with tenure.",
    )
    newcomer_weeks: float = param(
        26.0,
        1,
        260,
        unit="weeks",
        source="assumption: the first months",
        doc="Tenure over which every newcomer effect fades (e-folding time).",
    )
    leader_weight: float = param(
        0.5,
        0,
        1,
        source="leaders shape culture (West et al.); assumption",
        doc="Weight of one's manager among the neighbours one is socialised by.",
    )


class Observation(Section):
    survey_weeks: int = param(
        52,
        1,
        260,
        unit="weeks",
        source="NHS Staff Survey: bullied 'in the last 12 months'",
        doc="Look-back of the bullying prevalence measures (bullied at least once in it).",
    )
    leaver_window_weeks: int = param(
        13,
        1,
        104,
        unit="weeks",
        source="assumption: a quarter smooths the weekly count of leavers",
        doc="Weeks of leavers and staff the weekly leaver rate is averaged over, annualised.",
    )


class Persistence(Section):
    window_weeks: int = param(
        26,
        1,
        30,
        unit="weeks",
        source="Leymann 1996; Einarsen et al. 2009 (NAQ-R): over about six months",
        doc="Look-back over which acts from one source are counted (P).",
    )
    min_weeks: int = param(
        8,
        1,
        30,
        unit="weeks",
        source="Leymann 1996 'at least weekly' read for a model of one act per perpetrator "
        "a week (docs/ODD.md 7.7a)",
        doc="Weeks with acts from one source within the look-back that make persistent "
        "bullying (k); above window_weeks nobody is persistently bullied.",
    )


class SpeakingUp(Section):
    challenge_logit: float = param(
        -3.58,
        -10.0,
        0.0,
        source="calibrated (experiments/calibrate.py); about half of NHS staff say they or a "
        "colleague reported their last experience of bullying (NHS Staff Survey), and what "
        "follows a report varies",
        doc="Weekly logit that a persistent perpetrator's bullying is raised and acted on at "
        "a neutral stance and under a manager of average compassion (rho_0, Eq. 9b).",
    )
    stance_weight: float = param(
        1.0,
        0.0,
        5.0,
        source="assumption: a culture of fear under a target-driven, punitive regime deterred "
        "staff from raising concerns (Francis 2013); speaking-up cultures differ between "
        "trusts (National Guardian's Office, Freedom to Speak Up index)",
        doc="Logit rise in the chance of a challenge from a punitive (0) to a supportive (1) "
        "regulator stance (rho_s, Eq. 9b).",
    )
    manager_compassion_weight: float = param(
        4.0,
        0.0,
        20.0,
        source="assumption: compassionate leaders attend to mistreatment and act on it (West "
        "et al. 2017); 4 is about 1.8 times the odds per standard deviation of compassion",
        doc="Logit rise in the chance of a challenge per unit of the perpetrator's manager's "
        "compassion above 0.5 (rho_c, Eq. 9b).",
    )


class Cascades(Section):
    conversion_window_weeks: int = param(
        12,
        1,
        104,
        unit="weeks",
        source="assumption; Vranjes et al. 2021 time lags",
        doc="A victim who starts bullying within this many weeks is a conversion (W).",
    )
