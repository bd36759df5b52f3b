"""Domains (DSLs), their exact bounded interpreters, edits, Φ generation and task files.

``deepcoder`` is the DeepCoder integer-list domain::

    >>> from worldmodel.datasets import deepcoder
    >>> p = deepcoder.parse("a <- [int] | b <- int | c <- TAKE b a | d <- SUM c")
    >>> deepcoder.run(p, [[1, 2, 3], 2])
    3
"""

from ._arith import arith
from ._ca import ca, evolution_examples
from ._domain import INPUT_DISTRIBUTIONS, Domain, Example, Generative, InputConfig
from ._edits import (
    DeleteStatement,
    Edit,
    InsertStatement,
    ReplaceArgument,
    ReplaceStatement,
    apply_edit,
    inverse,
    neighbours,
    variable_types,
    well_typed_statements,
)
from ._engines import ENGINES, RAY_INSTALL, Engine
from ._errors import (
    ConfigError,
    DatasetError,
    DomainError,
    EditError,
    EngineError,
    ExecutionError,
    OutputError,
    ParseError,
    SamplingError,
    TaskFileError,
    WorldModelError,
)
from ._exedec import from_exedec
from ._files import (
    PARTIAL_SUFFIX,
    LineWriter,
    atomic_write_bytes,
    atomic_write_text,
    check_output,
    partial_path,
)
from ._generate import generate
from ._generate_config import GenerateConfig, GenerateResult, parse_splits
from ._interpreter import (
    DEFAULT_BOUNDS,
    Bounds,
    Value,
    apply_primitive,
    check_inputs,
    check_value,
    run,
    trace,
)
from ._motifs import motif_bank, motif_program
from ._phi_reader import (
    RecordLines,
    dataset_ids,
    iter_records,
    read_manifest,
    read_record_lines,
    select_tasks,
)
from ._probe import Behaviour, DigestSet, behaviour, probe_inputs, probe_outputs
from ._program import (
    Primitive,
    Program,
    Statement,
    Type,
    format_program,
    parse_program,
    variable_name,
)
from ._regex import regex, regex_text
from ._registry import DOMAINS, deepcoder, register_domain
from ._skills import (
    Skill,
    compress,
    compress_with,
    expand,
    fragments,
    learn_skills,
    library_from_json,
    library_to_json,
    skill_primitives,
)
from ._tasks import (
    DEFAULT_DOMAIN,
    MAX_LINE_BYTES,
    Task,
    TaskFile,
    iter_tasks,
    parse_task,
    read_tasks,
    task_file_domain,
    task_to_json,
    write_tasks,
)
from ._throughput import InterpreterThroughput, interpreter_throughput
from ._tokens import Vocabulary
from ._validation import require_at_least, require_choice, require_fraction, require_positive

__all__ = [
    "ConfigError",
    "require_at_least",
    "require_choice",
    "require_fraction",
    "require_positive",
    "InterpreterThroughput",
    "interpreter_throughput",
    "from_exedec",
    "Behaviour",
    "DigestSet",
    "GenerateConfig",
    "GenerateResult",
    "behaviour",
    "generate",
    "iter_records",
    "read_record_lines",
    "RecordLines",
    "Engine",
    "ENGINES",
    "RAY_INSTALL",
    "EngineError",
    "parse_splits",
    "probe_inputs",
    "probe_outputs",
    "read_manifest",
    "select_tasks",
    "dataset_ids",
    "Skill",
    "compress",
    "expand",
    "fragments",
    "learn_skills",
    "compress_with",
    "motif_bank",
    "motif_program",
    "skill_primitives",
    "library_to_json",
    "library_from_json",
    "write_tasks",
    "task_to_json",
    "task_file_domain",
    "DEFAULT_DOMAIN",
    "read_tasks",
    "parse_task",
    "iter_tasks",
    "atomic_write_text",
    "atomic_write_bytes",
    "check_output",
    "partial_path",
    "PARTIAL_SUFFIX",
    "LineWriter",
    "MAX_LINE_BYTES",
    "OutputError",
    "SamplingError",
    "TaskFile",
    "Task",
    "Bounds",
    "DEFAULT_BOUNDS",
    "DOMAINS",
    "ca",
    "evolution_examples",
    "DomainError",
    "register_domain",
    "DatasetError",
    "DeleteStatement",
    "Domain",
    "Edit",
    "EditError",
    "Example",
    "ExecutionError",
    "WorldModelError",
    "InputConfig",
    "INPUT_DISTRIBUTIONS",
    "InsertStatement",
    "ParseError",
    "Primitive",
    "Program",
    "ReplaceArgument",
    "ReplaceStatement",
    "Statement",
    "TaskFileError",
    "Type",
    "Value",
    "Vocabulary",
    "apply_edit",
    "apply_primitive",
    "check_inputs",
    "check_value",
    "deepcoder",
    "arith",
    "regex",
    "regex_text",
    "Generative",
    "format_program",
    "inverse",
    "neighbours",
    "parse_program",
    "run",
    "trace",
    "variable_name",
    "variable_types",
    "well_typed_statements",
]
