"""Skills in search: a skill call is charged as the statements it runs, a model's
vocabulary grows with its library and the checkpoint records it, guided search calls
the skills and its answers verify, and `solve --expand` prints them in base primitives."""

import json
import random

import pytest
from click.testing import CliRunner
from learn_pools import MOTIF, motif_pool
from worldmodel.datasets import Program, Skill, Statement, Task, deepcoder
from worldmodel.inference import Budget, BudgetExhausted, Simulator, enumerate_program, solve

from worldmodel import CheckpointError, WorldModel, save_model
from worldmodel.cli import main

SKILL = Skill("SKILL0", MOTIF)
SKILLED = deepcoder.with_skills([SKILL])


def _motif_tasks() -> list[Task]:
    """Tasks whose programs are the motif then one or two statements (the motif does not shorten)."""
    rng = random.Random(0)
    tasks = []
    for i, tail in enumerate(["MAP (-1) d", "REVERSE d | f <- MAP (+1) e", "MAP (*2) d | f <- REVERSE e",
                                   "MAP (*2) d | f <- MAP (-1) e"]):
        program = deepcoder.parse(f"{deepcoder.format(MOTIF)} | e <- {tail}")
        examples = deepcoder.random_examples(program, 4, rng)
        tasks.append(Task(f"motif{i}", tuple(examples), program.input_types))
    return tasks


def test_a_skill_call_is_charged_as_its_body_on_every_example():
    task = _motif_tasks()[0]
    simulator = Simulator(task, SKILLED, Budget(calls=100))
    simulator.outputs(SKILLED.parse("a <- [int] | b <- SKILL0 a"))
    assert simulator.calls == 3 * len(task.examples)
    refused = Simulator(task, SKILLED, Budget(calls=3 * len(task.examples) - 1))
    with pytest.raises(BudgetExhausted):
        refused.outputs(SKILLED.parse("a <- [int] | b <- SKILL0 a"))
    assert refused.calls == 0


def test_enumeration_charges_a_skill_application_as_its_body():
    program = SKILLED.parse("a <- [int] | b <- SKILL0 a")
    examples = deepcoder.random_examples(MOTIF, 4, random.Random(1))
    task = Task("t", tuple(examples), program.input_types)
    costs = {name: 5 for name in SKILLED.primitives} | {"SKILL0": 1}  # the skill first, alone at cost 1
    found = enumerate_program(task, Simulator(task, SKILLED, Budget(calls=1_000)), costs=costs)
    assert found.stopped == "solved" and found.program == program and found.calls == 3 * 4


def test_the_vocabulary_grows_with_the_library_and_the_checkpoint_records_it(tmp_path):
    model = WorldModel.default()
    task = _motif_tasks()[0]
    before = model.primitive_probabilities(task)
    model.add_skills([SKILL])
    after = model.primitive_probabilities(task)
    assert list(after) == [*before, "SKILL0"] and all(after[k] == pytest.approx(before[k]) for k in before)
    save_model(model, tmp_path / "m")
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["skills"] == [{"name": "SKILL0", "body": deepcoder.format(MOTIF), "expanded": deepcoder.format(MOTIF)}]
    loaded = WorldModel.load(tmp_path / "m")
    assert loaded.skills == (SKILL,) and loaded.primitive_probabilities(task) == pytest.approx(after)
    with pytest.raises(ValueError, match="already"):
        model.add_skills([SKILL])
    unknown = Skill("SKILL1", Program(MOTIF.input_types, (Statement("SKILL9", (0,)), Statement("SORT", (1,)))))
    with pytest.raises(ValueError, match="SKILL9"):
        model.add_skills([unknown])
    assert model.skills == (SKILL,)  # a refused library leaves the model as it was


def test_an_edited_library_in_the_checkpoint_is_refused(tmp_path):
    model = WorldModel.default()
    model.add_skills([SKILL])
    save_model(model, tmp_path / "m")
    record = json.loads((tmp_path / "m.json").read_text())
    record["skills"][0]["expanded"] = "a <- [int] | b <- SORT a"
    (tmp_path / "m.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="skills|differs"):
        WorldModel.load(tmp_path / "m")


@pytest.fixture(scope="module")
def skilled_model():
    model = WorldModel.default()
    model.add_skills([SKILL])
    return model.eval()


def test_guided_search_calls_the_skills_in_fewer_calls_and_its_answers_verify(skilled_model):
    plain = WorldModel.default().eval()
    budget = Budget(calls=3_000)
    spent, calling = {"without": 0, "with": 0}, 0
    for task in _motif_tasks():
        without = solve(task, plain, "guided", budget=budget)
        with_skills = solve(task, skilled_model, "guided", budget=budget)
        assert with_skills.verified and with_skills.calls <= budget.calls
        assert Simulator(task, deepcoder, budget).solves(SKILLED.expand(with_skills.program))
        calling += "SKILL0" in {s.primitive for s in with_skills.program.statements}
        spent["without"] += without.calls
        spent["with"] += with_skills.calls
    assert calling >= 3  # the fourth task has a shorter answer on its examples
    assert spent["with"] < 0.6 * spent["without"]  # the motif is one application, charged as 3 statements (0.51x)


def test_other_methods_search_the_base_domain(skilled_model):
    task = _motif_tasks()[0]
    result = solve(task, skilled_model, "energy", budget=Budget(calls=300), seed=0)
    assert result.program is None or "SKILL0" not in {s.primitive for s in result.program.statements}


def test_solve_prints_skill_calls_and_expands_on_request(skilled_model, tmp_path):
    save_model(skilled_model, tmp_path / "m")
    tasks = tmp_path / "tasks.jsonl"
    from worldmodel.datasets import write_tasks

    write_tasks(tasks, _motif_tasks()[:1], deepcoder)
    runner = CliRunner()
    shown = runner.invoke(main, ["solve", str(tasks), "--model", str(tmp_path / "m"), "--calls", "3000",
                                 "--out", str(tmp_path / "a.jsonl")])
    assert shown.exit_code == 0, shown.output
    line = json.loads((tmp_path / "a.jsonl").read_text())
    assert "SKILL0" in line["program"] and "SKILL0" not in line["expanded"]
    assert deepcoder.parse(line["expanded"].replace(" | ", "\n")) == SKILLED.expand(SKILLED.parse(line["program"]))
    expanded = runner.invoke(main, ["solve", str(tasks), "--model", str(tmp_path / "m"), "--calls", "3000", "--expand"])
    assert expanded.exit_code == 0 and "SKILL0" not in expanded.output and "solved" in expanded.output


def test_learning_grows_a_library_that_later_searches_call(tmp_path):
    from worldmodel.datasets import library_from_json
    from worldmodel.inference import LearnConfig, learn

    tasks = motif_pool()
    model = WorldModel.default()
    first, second = learn(tasks, model, deepcoder, config=LearnConfig(rounds=2, calls=2_000, capacity=2, fantasies=100),
                          out=tmp_path, progress=False)
    assert first["skills"] >= 1 and second["solved"] > first["solved"]
    assert second["new_calling_skills"] >= 1  # round 2 solved tasks by calling round 1's skills
    library = library_from_json((tmp_path / "round-1" / "library.json").read_text(), deepcoder.primitives)
    assert tuple(library) == model.skills == WorldModel.load(tmp_path / "round-1" / "model").skills


def test_fantasies_are_seeded_tasks_of_the_domain_with_its_skills():
    from worldmodel.inference import fantasies

    dreamt = fantasies(SKILLED, count=300, seed=4)
    assert dreamt == fantasies(SKILLED, count=300, seed=4) and dreamt != fantasies(SKILLED, count=300, seed=5)
    calls = 0
    for task in dreamt:
        assert 1 <= len(task.program.statements) <= 3 and len(task.examples) == 3
        assert Simulator(task, SKILLED, Budget(calls=None)).solves(task.program)
        calls += "SKILL0" in {s.primitive for s in task.program.statements}
    assert calls > 10  # the skill is drawn as often as a primitive (1 in 39 per statement)
