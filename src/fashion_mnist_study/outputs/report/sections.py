"""The report's sections, each a dict the templates show: its figures, its tables and the
sentences that state its numbers, every one computed from this run's outputs with the study's
own value beside it."""

from __future__ import annotations

from fashion_mnist_study.analysis.results import COURSEWORK
from fashion_mnist_study.core.formats import pct
from fashion_mnist_study.core.settings import COURSEWORK_MODELS, COURSEWORK_QUESTIONS, MANY_MODELS
from fashion_mnist_study.outputs.experiments import ranking, read_experiments, setting_columns
from fashion_mnist_study.outputs.report import tables
from fashion_mnist_study.outputs.report.numbers import RunNumbers, source_revision
from fashion_mnist_study.outputs.report.wording import (
    class_lead,
    evidence_sentence,
    experiments_summary,
    finding,
    relative_size,
    versus,
)


def figure(path: str, alt: str) -> dict[str, str]:
    return {"path": path, "alt": alt}


def filter_sentences(run: RunNumbers) -> list[str]:
    inputs, errors = run.inputs, run.filter_errors
    sentences = []
    for output, label in (("conv", "convolution only"), ("conv_pool", "convolution + pooling")):
        rows = errors[errors["output"] == output]
        worst = rows.loc[rows["euclidean_distance"].idxmax()]
        sentences.append(
            f"{label.capitalize()}: the largest Euclidean distance between NumPy and "
            f"PyTorch is {worst['euclidean_distance']:.3g} (test image "
            f"{worst['example']}, filter {inputs.kernel_names[int(worst['filter'])]}), "
            f"the largest absolute difference of one pixel {rows['max_abs_error'].max():.3g}"
            + (" [study: about 1e-6 in float32]." if inputs.filter_dtype == "float32" else ".")
        )
    return sentences


def filters_section(run: RunNumbers) -> dict[str, object]:
    inputs, errors = run.inputs, run.filter_errors
    return {
        "pool": inputs.pool,
        "n_examples": errors["example"].nunique(),
        "n_kernels": len(inputs.kernel_names),
        "kernels": ", ".join(inputs.kernel_names),
        "dtype": inputs.filter_dtype,
        "figure": figure(
            inputs.filters_plot, "Inputs, convolution and pooled outputs, NumPy and PyTorch"
        ),
        "sentences": filter_sentences(run),
        "table": tables.filter_errors(errors, inputs.kernel_names),
    }


def cnn_section(run: RunNumbers) -> dict[str, object]:
    return {
        "total_params": f"{run.total_params('cnn'):,}",
        "coursework_params": f"{COURSEWORK['cnn_params']:,}",
        "table": tables.layers(run.params, "cnn"),
        "curves": figure(run.inputs.curves["cnn"], "CNN training and validation curves"),
        "sentence": (
            f"After {run.epochs('cnn')} epochs the CNN reaches "
            f"{run.measure('cnn', 'final_train_acc').as_pct()} training and "
            f"{run.measure('cnn', 'final_val_acc').as_pct()} validation accuracy (best "
            f"validation {run.measure('cnn', 'best_val_acc').as_pct()}); test accuracy "
            f"on {int(run.results['n_test'].iloc[0]):,} images: {run.accuracy_text('cnn')} "
            f"[study: {pct(COURSEWORK['cnn_test_acc'])}]."
        ),
    }


def regularized_section(run: RunNumbers) -> dict[str, object]:
    inputs = run.inputs
    return {
        "curves": figure(inputs.curves["cnn_regularized"], "Regularized CNN curves"),
        "overfitting": figure(inputs.overfitting, "Training minus validation accuracy per epoch"),
        "test_sentence": (
            f"Test accuracy of the regularized CNN: {run.accuracy_text('cnn_regularized')} "
            f"[study: {pct(COURSEWORK['cnn_regularized_test_acc'])}]; plain CNN: "
            f"{run.accuracy_text('cnn')} [study: {pct(COURSEWORK['cnn_test_acc'])}]. "
            + evidence_sentence(
                run.comparison("cnn_regularized", "cnn"),
                ("regularized CNN", "plain CNN"),
                inputs.alpha,
                run.family(),
            )
        ),
        "gap_sentence": (
            "Gap between training and validation accuracy in the last epoch: "
            f"{run.measure('cnn', 'final_gap').as_points()} without regularization, "
            f"{run.measure('cnn_regularized', 'final_gap').as_points()} with it. "
            + versus(
                run.measure("cnn_regularized", "final_gap"),
                run.measure("cnn", "final_gap"),
                "The regularized gap",
                "the plain one",
            )
        ),
    }


def mlp_vs_cnn_section(run: RunNumbers) -> dict[str, object]:
    inputs = run.inputs
    return {
        "params_sentence": (
            f"Parameters: MLP {run.total_params('mlp'):,} [study: "
            f"{COURSEWORK['mlp_params']:,}], CNN {run.total_params('cnn'):,} [study: "
            f"{COURSEWORK['cnn_params']:,}]; the MLP has "
            + relative_size(run.total_params("mlp"), run.total_params("cnn"))
            + " parameters than the CNN."
        ),
        "figure": figure(inputs.mlp_vs_cnn, "Validation accuracy of the MLP and the CNN"),
        "test_sentence": (
            f"Test accuracy: MLP {run.accuracy_text('mlp')} [study: "
            f"{pct(COURSEWORK['mlp_test_acc'])}], CNN {run.accuracy_text('cnn')} [study: "
            f"{pct(COURSEWORK['mlp_vs_cnn_cnn_test_acc'])}]. "
            + evidence_sentence(
                run.comparison("cnn", "mlp"), ("CNN", "MLP"), inputs.alpha, run.family()
            )
        ),
        "mlp_curves": figure(inputs.curves["mlp"], "MLP training and validation curves"),
        **class_section(run),
        "confusion": [
            figure(inputs.confusion[model], f"Confusion matrix of the {name}")
            for model, name in (("cnn", "CNN"), ("mlp", "MLP"))
        ],
        "examples": figure(
            inputs.cnn_vs_mlp_examples, "Test images one model gets right and the other wrong"
        ),
    }


def class_section(run: RunNumbers) -> dict[str, object]:
    classes = run.class_comparisons
    return {
        "class_sentence": class_lead(classes, run.inputs.alpha),
        "class_table": tables.class_comparisons(classes),
    }


def comparisons_section(run: RunNumbers) -> dict[str, object]:
    """Every comparison of comparisons.csv: the forest plot and the table behind it."""
    return {
        "alpha": f"{run.inputs.alpha:g}",
        "count": len(run.comparisons),
        "figure": figure(run.inputs.comparisons_plot, "Every comparison, with its 95% interval"),
        "table": tables.comparisons(run.comparisons),
    }


def experiments_section(run: RunNumbers) -> dict[str, object]:
    """The models beyond the study's three, and the comparison of every model; past
    MANY_MODELS (a sweep's), a leaderboard first, then test accuracy against each setting."""
    inputs = run.inputs
    frame = read_experiments(inputs.experiments)
    varying = setting_columns(frame)
    section = {
        "extra": [model for model in frame["model"] if model not in COURSEWORK_MODELS],
        "baseline": inputs.baseline,
        "summary": experiments_summary(frame, inputs.baseline, inputs.alpha),
        "table": tables.experiments(frame),
        "figure": figure(inputs.experiments_plot, "Validation accuracy of every model"),
        "count": len(frame),
        "leaderboard": None,
    }
    order = ranking(frame)
    ranked = frame.set_index("model", drop=False).loc[order]
    section["per_model"] = [
        {
            "model": model,
            "accuracy": accuracy,
            "curves": figure(inputs.curves[model], f"{model}: training and validation per epoch"),
            "confusion": figure(inputs.confusion[model], f"{model}: confusion matrix"),
        }
        for model, accuracy in zip(ranked["model"], tables.accuracies(ranked), strict=True)
        if model not in COURSEWORK_MODELS
    ]
    if len(frame) > MANY_MODELS:
        marks = {model: "(coursework)" for model in COURSEWORK_MODELS}
        marks[order[0]] = ("★ best " + marks.get(order[0], "")).strip()
        section["leaderboard"] = tables.leaderboard(frame, order, varying, marks)
        section["fixed"] = run.fixed_settings(varying)
        section["slices"] = figure(
            inputs.experiments_settings_plot, "Test accuracy against each setting that differs"
        )
    return section


def findings_section(run: RunNumbers, costs: list[tuple[str, float, float]]) -> dict[str, object]:
    """What the run found, for the report's first screen: the coursework's three models'
    test accuracies beside the coursework's, its two questions answered in one line each, the
    MLP-vs-CNN figure, and when, where and at what cost (`costs`, tables.job_costs) the run was
    made."""
    coursework = {
        "cnn": pct(COURSEWORK["cnn_test_acc"]),
        "cnn_regularized": pct(COURSEWORK["cnn_regularized_test_acc"]),
        "mlp": f"{pct(COURSEWORK['mlp_test_acc'])} (its CNN: "
        f"{pct(COURSEWORK['mlp_vs_cnn_cnn_test_acc'])})",
    }
    return {
        "table": tables.findings(run, coursework),
        "lines": [
            finding(run.comparison(*pair), question)
            for pair, question in COURSEWORK_QUESTIONS.items()
        ],
        "figure": figure(run.inputs.mlp_vs_cnn, "Validation accuracy of the MLP and the CNN"),
        "trained": run.trained(),
        "revision": source_revision(),
        "job_minutes": f"{sum(seconds for _, seconds, _ in costs) / 60:.1f}",
        "jobs": len(costs),
    }


def report_context(run: RunNumbers) -> dict[str, object]:
    """Everything the templates show: numbers as text, sentences, tables and figures."""
    costs = tables.job_costs(run.inputs.benchmarks, run.results)
    return {
        "seeds_note": run.seeds_note(),
        "filters": filters_section(run),
        "cnn": cnn_section(run),
        "regularized": regularized_section(run),
        "mlp_vs_cnn": mlp_vs_cnn_section(run),
        "accuracy_table": tables.test_accuracy(run),
        "comparisons": comparisons_section(run),
        "experiments": experiments_section(run),
        "cost_table": tables.cost(costs),
        "findings": findings_section(run, costs),
    }
