"""Ctrl-C during a week stops a run when the week ends, never in the middle of one.

numba compiles kernels inside a run's first weeks; an interrupt in the middle of a
compilation left numba half made (a traceback, or an abort on a double free, on a fresh
install). These tests send a real SIGINT to this process.
"""

import os
import signal

import pytest

from culturesim.engine import interrupts, rules
from culturesim.engine.model import CultureModel
from culturesim.run.simulate import run_weeks

SMALL = {"organisation.staff_per_trust": 200, "run.steps": 10, "run.record_events": False}


def test_ctrl_c_is_held_until_the_next_week_begins():
    with pytest.raises(KeyboardInterrupt), interrupts.between_weeks():
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))  # Python code runs on: the interrupt only asks
        assert interrupts._requested
        interrupts.check()  # what every week does first
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_stops_at_once():
    with pytest.raises(KeyboardInterrupt), interrupts.between_weeks():
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))
        pytest.fail("the second Ctrl-C should have stopped the block")
    assert not interrupts._requested  # nothing left over for the next week


def test_ctrl_c_in_the_middle_of_a_week_stops_the_run_after_that_week(monkeypatch):
    model = CultureModel("baseline", seed=1, **SMALL)
    newness = rules.newness
    calls = []

    def newness_then_ctrl_c(*args, **keywords):
        calls.append(model.week)
        if len(calls) == 3:  # in the third recorded week's behaviour phase
            os.kill(os.getpid(), signal.SIGINT)
        return newness(*args, **keywords)

    monkeypatch.setattr(rules, "newness", newness_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_weeks(model, None, lambda: None)
    assert model.week == 3  # weeks 0-2 ran whole; week 3 never began
    assert len(model.records) == 3


def test_ctrl_c_during_the_build_stops_it_when_its_burn_in_ends(monkeypatch):
    newness = rules.newness
    weeks = []

    def newness_then_ctrl_c(*args, **keywords):
        weeks.append(1)
        if len(weeks) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return newness(*args, **keywords)

    monkeypatch.setattr(rules, "newness", newness_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        CultureModel("baseline", seed=1, **SMALL)
    assert len(weeks) == 1  # stopped before the second burn-in week
    monkeypatch.setattr(rules, "newness", newness)
    assert CultureModel("baseline", seed=1, **SMALL).week == 0  # and the next build is whole
