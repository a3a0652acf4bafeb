"""The scenario's parameters of how trusts and the system respond: turnover and hiring, temporary
staffing, recruitment, care quality and harm, the regulator and special measures (docs/ODD.md
section 7).
"""

from __future__ import annotations

from culturesim.engine.parameter import param
from culturesim.schema import Section


class Turnover(Section):
    baseline_logit: float = param(
        -7.25,
        -15,
        0,
        source="calibrated (experiments/calibrate.py)",
        doc="Logit of leaving in a week for an unstrained, settled person.",
    )
    strain_weight: float = param(
        2.5,
        0,
        20,
        source="burnout predicts turnover intention; assumption",
        doc="Logit rise per unit of strain.",
    )
    bullied_weight: float = param(
        1.0,
        0,
        20,
        source="persistently bullied staff leave more (Hogh et al. 2011)",
        doc="Logit rise while persistently bullied (docs/ODD.md 7.7a).",
    )
    newcomer_weight: float = param(
        1.0,
        0,
        10,
        source="1 in 4 nurses leave within 3 years (Nuffield Trust)",
        doc="Logit rise for a newcomer, fading with tenure (socialisation.newcomer_weeks).",
    )
    ceo_logit_offset: float = param(
        0.929,
        -5,
        5,
        source="calibrated (experiments/calibrate.py); King's Fund 2018",
        doc="Added to a chief executive's logit of leaving (career moves, exposure).",
    )
    bullied_memory_weeks: int = param(
        12,
        1,
        104,
        unit="weeks",
        source="assumption",
        doc="How long a negative act by staff counts as 'recent' for care quality (Eq. 10).",
    )
    weekly_hiring_rate: float = param(
        0.0228,
        0,
        1,
        unit="per vacancy per week",
        source="calibrated (experiments/calibrate.py)",
        doc="Chance a vacancy is filled in a week at funding 1.",
    )
    executive_hiring_rate: float = param(
        0.25,
        0,
        1,
        unit="per vacancy per week",
        source="assumption: boards appoint an interim chief executive or director within weeks",
        doc="Chance a chief executive's or director's vacancy is filled in a week at funding 1.",
    )
    reputation_penalty: float = param(
        2.0, 0, 10, source="assumption", doc="Fall in hiring per unit of the trust's bullying norm."
    )
    funding_cap: float = param(
        1.5,
        1,
        5,
        source="assumption: money beyond half as much again finds no more staff to hire",
        doc="Funding above this level speeds hiring no further (Eq. 12).",
    )


class TemporaryStaffing(Section):
    cover: float = param(
        0.8,
        0,
        1,
        source="NHS Improvement 2018: 80-95% of nursing vacancies covered by bank or agency staff",
        doc="Share of a trust's vacant posts covered by bank and agency staff (Eq. 2a).",
    )
    max_share: float = param(
        0.1,
        0,
        1,
        unit="share of posts",
        source="estimate: agency spend peaked at 7.5% of the NHS pay bill in 2015/16 (8.2% in "
        "July 2015; NHS Improvement), with bank staff on top, under the 2015-16 agency ceilings",
        doc="Most of a trust's posts that temporary staff can cover at once.",
    )
    effectiveness: float = param(
        0.75,
        0,
        1,
        source="assumption: temporary staff do not know the ward, its patients or its routines",
        doc="Workload relief from a temporary worker relative to a substantive one.",
    )
    premium: float = param(
        0.4,
        0,
        3,
        source="estimate: NHS Improvement's 2016 price caps allow agency pay up to 55% above "
        "the substantive rate; bank shifts cost little more than substantive ones",
        doc="Extra cost of a temporary worker over the substantive post it covers (share).",
    )
    pay_share: float = param(
        0.65,
        0,
        1,
        source="staff costs are about two thirds of an NHS trust's spending (NHS Providers)",
        doc="Share of a trust's funding that pays for its posts; the premium is on this share.",
    )


class Recruitment(Section):
    usual_vacancy: float = param(
        0.09,
        0,
        1,
        unit="share of posts",
        source="NHS Improvement 2017/18: 8.4-9% of posts vacant",
        doc="Trust vacancy rate above which recruitment effort rises (Eq. 12a).",
    )
    effort_gain: float = param(
        10.0,
        0,
        100,
        source="assumption: a trust with 10 points more vacancies than usual doubles its "
        "recruitment (drives, international recruitment)",
        doc="Rise of recruitment effort per unit of vacancy rate above the usual.",
    )
    max_effort: float = param(
        2.0,
        1,
        10,
        source="assumption: the local labour market; HEE 2015: 30,000 fewer nurses than needed",
        doc="Most a trust can multiply its hiring rate by, however hard it recruits.",
    )


class Quality(Section):
    staffing_exponent: float = param(
        1.0,
        0,
        5,
        source="nurse staffing and outcomes (Griffiths et al. 2018); assumption",
        doc="Elasticity of care quality to the team's staffed share.",
    )
    strain_penalty: float = param(
        0.4,
        0,
        1,
        source="burnout and patient safety (Hall et al. 2016); assumption",
        doc="Quality lost per unit of the team's mean strain.",
    )
    rudeness_penalty: float = param(
        0.15,
        0,
        1,
        source="Riskin et al. 2015: rudeness cut team performance 10-20%",
        doc="Quality lost when all of a team were recently bullied.",
    )
    compassion_gain: float = param(
        0.15,
        0,
        1,
        source="engagement modestly predicts quality (West & Dawson); assumption",
        doc="Quality gained per unit of compassion climate above 0.5.",
    )
    harm_rate: float = param(
        0.002,
        0,
        1,
        unit="per post per week",
        source="scale",
        doc="Expected harm events per frontline post per week at demand 1, case mix 1 and the "
        "reference quality.",
    )
    reference_quality: float = param(
        0.844,
        0,
        1,
        source="calibrated (experiments/calibrate.py): the baseline's mean care quality",
        doc="Care quality at which harm is as expected (Q_ref, Eq. 10b).",
    )
    harm_excess_weight: float = param(
        4.59,
        0,
        20,
        source="calibrated (experiments/calibrate.py): mid-staffs at 25-45% excess harm "
        "(Francis 2013: SMR 1.27-1.45)",
        doc="Excess harm per unit of care quality below the reference (k, Eq. 10b).",
    )


class Regulator(Section):
    stance: float = param(
        0.5, 0, 1, source="scenario", doc="0 punitive (blame, removal) to 1 supportive (help)."
    )
    stance_buffering: float = param(
        0.5,
        0,
        1,
        source="assumption",
        doc="Share of target pressure a fully supportive stance takes out of the blame felt.",
    )
    inspection_weeks: int = param(
        13,
        1,
        260,
        unit="weeks",
        source="quarterly oversight (NHS Oversight Framework)",
        doc="Weeks between ratings of every trust.",
    )
    quality_target: float = param(
        0.75, 0, 1, source="assumption", doc="Care quality the regulator expects."
    )
    inadequate_quality: float = param(
        0.65, 0, 1, source="assumption", doc="Quality below which a trust is rated inadequate."
    )
    pressure_gain: float = param(
        2.0,
        0,
        50,
        source="assumption",
        doc="Extra pressure per unit of quality shortfall at a fully punitive stance.",
    )
    support_gain: float = param(
        1.0,
        0,
        50,
        source="assumption",
        doc="Extra resources (share of funding) per unit of shortfall, fully supportive stance.",
    )
    max_extra_pressure: float = param(
        1.0,
        0,
        3,
        source="assumption: a failing trust feels at most triple the typical pressure",
        doc="Ceiling on the extra pressure a trust can accumulate from poor ratings.",
    )
    max_extra_support: float = param(
        0.15,
        0,
        1,
        source="assumption: support packages are a modest share of income",
        doc="Ceiling on extra resources (share of funding) from support after poor ratings.",
    )
    feedback_decay: float = param(
        0.7,
        0,
        1,
        source="assumption",
        doc="Share of extra pressure or support kept at each rating.",
    )
    ceo_removal_probability: float = param(
        0.3,
        0,
        1,
        source="HSJ 2017: chief executives of inadequate trusts leave sooner",
        doc="Chance an inadequate trust's chief executive is removed, at a fully punitive stance.",
    )


class SpecialMeasures(Section):
    entry_ratings: int = param(
        2,
        1,
        20,
        unit="ratings",
        source="CQC/NHS Improvement special measures since 2013: a trust rated inadequate "
        "(and not improving) enters; assumption: two ratings in a row",
        doc="Consecutive inadequate ratings after which a trust enters special measures (Eq. 13a).",
    )
    min_weeks: int = param(
        52,
        1,
        520,
        unit="weeks",
        source="regulators' 2014 guidance: usually 12 months; trusts that exited spent on "
        "average 20.5 months (HSJ 2016) to 24 months (NHS Providers 2017)",
        doc="Weeks in special measures before a trust can exit at a rating not inadequate.",
    )
    ceo_replacement_probability: float = param(
        0.5,
        0,
        1,
        source="HSJ 2014: 5 chief executives of the 14 Keogh trusts replaced within 7 months "
        "of special measures, and 49 board members",
        doc="Chance the chief executive is replaced on entry, under either stance.",
    )
    extra_funding: float = param(
        0.05,
        0,
        0.5,
        unit="share of funding",
        source="assumption: improvement money and deficit support; the 14 Keogh trusts added "
        "650 nurses and 130 doctors in 3 months (Monitor and NHS TDA 2014)",
        doc="Extra funding while in special measures.",
    )
    recruitment_boost: float = param(
        0.5,
        0,
        10,
        source="Monitor and NHS TDA 2014: 650 nurses and 130 doctors recruited in the first 3 "
        "months of special measures at 14 trusts; assumption for the size",
        doc="Extra recruitment effort while in special measures (within recruitment.max_effort).",
    )
    pressure_relief: float = param(
        0.5,
        0,
        1,
        source="assumption: an improvement director and a buddy trust replace escalating blame "
        "with an agreed plan (CQC 2014, Special measures: one year on)",
        doc="Share of the board's pressure taken off while in special measures.",
    )
