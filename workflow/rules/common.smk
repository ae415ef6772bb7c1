import itertools
import os
import re
import sys
from pathlib import Path

# Where this workflow's files are: the folder of the file being parsed (workflow/rules), not
# workflow.basedir, which is the user's folder when another workflow uses this one as a module
# (from a clone only: docs/module.md).
SRC = Path(workflow.current_basedir).parents[1] / "src"
SCHEMA = SRC.parent / "workflow/schemas/config.schema.yaml"
SCRIPTS = SRC.parent / "workflow/scripts"

# Scripts (also in cluster jobs, which re-read this file) import the package from this
# checkout, so a copy of the workflow, or a module user's run, runs its own code.
sys.path.insert(0, str(SRC))
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
)

from snakemake.logging import logger

from fashion_mnist_study.cache.store import output_cache, protect_entries
from fashion_mnist_study.core.code_inputs import PACKAGE, code_inputs
from fashion_mnist_study.core.config import (
    ConfigError,
    model_sections,
    sweep_bases,
    validate_config,
)
from fashion_mnist_study.core.hardware import (
    local_gpu_slots,
    threads_per_job,
    trains_on_gpu,
    usable_cpus,
)
from fashion_mnist_study.core.job_inputs import keyed
from fashion_mnist_study.core.paths import (
    RAW_DATA,
    SPLITS,
    STUDY_REPORT,
    TRAINING_OUTPUTS,
)
from fashion_mnist_study.core.progress import (
    announce_restored_trainings,
    is_quiet,
    outcome_lines,
)
from fashion_mnist_study.outputs.report.inputs import EVERY_BENCHMARK, input_origins

try:
    validate_config(config, SCHEMA)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# Finished trainings (and the download) are kept in Snakemake's between-workflow cache, which
# profiles/default turns on: going back to earlier settings restores their results at once.
OUTPUT_CACHE = output_cache()


# Entries are made read-only for everyone once stored (cache/store.py says why), by the
# main process at the start and the end of each run: that covers entries that local and
# cluster jobs stored, and those of older runs, without code in the jobs. A run that succeeds
# then ends with its outcome on the console (report_outcome).
onstart:
    protect_entries(OUTPUT_CACHE)


onsuccess:
    protect_entries(OUTPUT_CACHE)
    report_outcome()


onerror:
    protect_entries(OUTPUT_CACHE)


# Every model, sweeps expanded: name -> its settings (keys sorted), the study's three first,
# then the others by name, whatever the order of the config files.
MODEL_SECTIONS = model_sections(config)
MODELS = list(MODEL_SECTIONS)
SEEDS = config["training"]["seeds"]

# Whether the jobs go to a cluster or cloud executor. While this file is parsed Snakemake has
# not set the executor yet (workflow.local_exec is True even with `executor: slurm`); it has
# the node count (--jobs), which only those executors keep (for the local one --jobs means
# --cores), and its own scheduler tells cluster submission by the same sign.
SUBMITS_JOBS = workflow.resource_settings.nodes is not None

# Locally, never start more GPU jobs than the GPUs take (TRAININGS_PER_GPU each; `--resources
# gpu=N` overrides), nor more training threads than there are CPUs (`--cores 4` on a 2-core
# machine would otherwise run 4); a cluster's scheduler does this itself, one GPU per job.
LOCAL_CPUS = min(workflow.cores, usable_cpus())
if not SUBMITS_JOBS:
    for resource, limit in {
        "gpu": local_gpu_slots(),
        "training_cpus": LOCAL_CPUS,
    }.items():
        if resource not in workflow.global_resources:  # --resources may set it
            workflow.register_resource(resource, limit)

# The shallow convolution's two implementations, compared with each other.
IMPLEMENTATIONS = ["numpy", "torch"]
# Every value of each wildcard: a rule's jobs are the combinations of its wildcards' values.
WILDCARD_VALUES = {"model": MODELS, "seed": SEEDS, "impl": IMPLEMENTATIONS}
REPORT_TEMPLATES = sorted(
    os.path.relpath(path)
    for path in (SRC / PACKAGE / "outputs/report/templates").rglob("*.j2")
)

# A training restored from the result cache runs no script: one line on the console says so
# (unless FASHION_MNIST_STUDY_QUIET is set), beside Snakemake's line per restored file.
announce_restored_trainings(logger, TRAINING_OUTPUTS.values(), logger.info)


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)),
    seed=r"\d+",
    impl="|".join(IMPLEMENTATIONS),


def script_code(name):
    """The package modules that workflow/scripts/`name`.py runs, followed through its imports
    (core/code_inputs.py): a rule's code inputs, so editing one reruns that rule."""
    return code_inputs(SCRIPTS / f"{name}.py", SRC / PACKAGE)


def get_model_settings(wildcards):
    return MODEL_SECTIONS[wildcards.model]


def get_architectures():
    """Per model, only the settings that shape its layers (the parameter table needs no more)."""
    return {
        model: {
            "architecture": settings["architecture"],
            "hidden_sizes": settings.get("hidden_sizes", []),
        }
        for model, settings in MODEL_SECTIONS.items()
    }


def get_training_threads():
    """Locally, the CPUs shared out among the training jobs, at least one thread each; on a
    cluster, the profile's set-threads decides.

    Why not all CPUs to each training in turn: at batch 64 most operations of a step are too
    small to split between threads. On 2 cores, the two CNNs side by side with one thread each
    got through 13% more images per second than one after the other with two (docs/speed.md).
    """
    if SUBMITS_JOBS:
        return workflow.cores
    return threads_per_job(LOCAL_CPUS, len(MODELS) * len(SEEDS))


def get_training_priority(wildcards):
    """CNNs first: an MLP epoch takes a sixth of a CNN's, so an MLP fits in after the first
    CNN finishes instead of holding back the second."""
    return 0 if MODEL_SECTIONS[wildcards.model]["architecture"] == "mlp" else 1


def uses_gpu():
    """Whether training jobs will run on a GPU here (CUDA, or a Mac's through MPS, which its
    trainings share like one CUDA GPU); cluster profiles set gpu themselves."""
    return trains_on_gpu(config["training"]["device"])


def per_seed(pattern, model):
    """`pattern`'s files of `model`: one per seed, or one if `pattern` names no seed."""
    return list(dict.fromkeys(expand(pattern, model=model, seed=SEEDS)))


def per_model(name, pattern):
    """Named inputs `<name>[<model>]`, each `pattern`'s files of that model (one per seed),
    for a rule's input (`**per_model(...)`): a script receives them keyed by model
    (core/job_inputs.py).
    """
    return keyed(name, {model: per_seed(pattern, model) for model in MODELS})


def only(pattern, **wildcards):
    """The one file of `pattern` with `wildcards`."""
    (path,) = expand(pattern, **wildcards)
    return path


def every_job(step):
    """The wildcards of each job of rule `step`, a dict per job."""
    names = sorted(step.wildcard_names)
    values = itertools.product(*(WILDCARD_VALUES[name] for name in names))
    return [dict(zip(names, combination)) for combination in values]


def job_label(step, wildcards):
    """How the report names a job: its rule and wildcards, such as `plot_curves model=cnn`."""
    return " ".join([step.name, *(f"{k}={v}" for k, v in wildcards.items())])


def get_benchmarks():
    """Job label -> benchmark file of every benchmarked job but the report (whose cost table
    they fill); the cached rules have none (Snakemake allows no benchmark with cache).
    """
    return {
        job_label(step, wildcards): str(step.benchmark.apply_wildcards(wildcards))
        for step in workflow.rules
        if step.benchmark is not None and step.name != "report"
        for wildcards in every_job(step)
    }


def get_report_inputs(wildcards):
    """The report's named inputs: each file field of ReportInputs from the rule output it
    names, per model keyed by model (outputs/report/inputs.py), and the benchmarks keyed by job.
    """
    named = {}
    for name, origin in input_origins().items():
        if origin == EVERY_BENCHMARK:
            named.update(keyed(name, get_benchmarks()))
            continue
        outputs = getattr(rules, origin.rule).output
        pattern = outputs[0] if origin.output is None else outputs[origin.output]
        named.update(per_model(name, pattern) if origin.per_model else {name: pattern})
    return named


def get_final_outputs():
    """What the study shows: the files of every job whose rule marks an output for the report."""
    return [
        str(output.apply_wildcards(wildcards))
        for step in workflow.rules
        for wildcards in every_job(step)
        for output in step.output
        if "report" in output.flags
    ]


def report_outcome():
    """After a successful run whose targets include the report (unless quiet): where the
    report is and each model's test accuracy, the last lines before Snakemake's log path and
    elapsed time. A failed run ends as Snakemake ends it, naming the failed job and its log.
    """
    if is_quiet() or not any(job.rule.name == "report" for job in workflow.dag.jobs):
        return
    for line in outcome_lines(
        Path(rules.report.output.html).resolve(),
        Path(rules.test_accuracy.output[0]),
    ):
        logger.info(line)
