"""The report's sections, each a dict the templates show: its figures, its tables and the
sentences that state its numbers, every one computed from this run's outputs with the study's
own value beside it."""

from __future__ import annotations

import pandas as pd

from fashion_mnist_study.analysis.results import STUDY
from fashion_mnist_study.core.settings import STUDY_MODELS
from fashion_mnist_study.outputs.report import tables
from fashion_mnist_study.outputs.report.numbers import ReportInputs, Study
from fashion_mnist_study.outputs.report.wording import (
    class_lead,
    evidence_sentence,
    experiments_summary,
    pct,
    relative_size,
    versus,
)


def figure(path: str, alt: str) -> dict[str, str]:
    return {"path": path, "alt": alt}


def filter_sentences(study: Study) -> list[str]:
    inputs, errors = study.inputs, study.filter_errors
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


def filters_section(study: Study) -> dict[str, object]:
    inputs, errors = study.inputs, study.filter_errors
    return {
        "pool": inputs.pool,
        "n_examples": errors["example"].nunique(),
        "n_kernels": len(inputs.kernel_names),
        "kernels": ", ".join(inputs.kernel_names),
        "dtype": inputs.filter_dtype,
        "figure": figure(
            inputs.filters_plot, "Inputs, convolution and pooled outputs, NumPy and PyTorch"
        ),
        "sentences": filter_sentences(study),
        "table": tables.filter_errors(errors, inputs.kernel_names),
    }


def cnn_section(study: Study) -> dict[str, object]:
    return {
        "total_params": f"{study.total_params('cnn'):,}",
        "study_params": f"{STUDY['cnn_params']:,}",
        "table": tables.layers(study.params, "cnn"),
        "curves": figure(study.inputs.curves["cnn"], "CNN training and validation curves"),
        "sentence": (
            f"After {study.epochs('cnn')} epochs the CNN reaches "
            f"{study.measure('cnn', 'final_train_acc').as_pct()} training and "
            f"{study.measure('cnn', 'final_val_acc').as_pct()} validation accuracy (best "
            f"validation {study.measure('cnn', 'best_val_acc').as_pct()}); test accuracy "
            f"on {int(study.results['n_test'].iloc[0]):,} images: {study.accuracy_text('cnn')} "
            f"[study: {pct(STUDY['cnn_test_acc'])}]."
        ),
    }


def regularized_section(study: Study) -> dict[str, object]:
    inputs = study.inputs
    return {
        "curves": figure(inputs.curves["cnn_regularized"], "Regularized CNN curves"),
        "overfitting": figure(inputs.overfitting, "Training minus validation accuracy per epoch"),
        "test_sentence": (
            f"Test accuracy of the regularized CNN: {study.accuracy_text('cnn_regularized')} "
            f"[study: {pct(STUDY['cnn_regularized_test_acc'])}]; plain CNN: "
            f"{study.accuracy_text('cnn')} [study: {pct(STUDY['cnn_test_acc'])}]. "
            + evidence_sentence(
                study.comparison("cnn_regularized", "cnn"),
                ("regularized CNN", "plain CNN"),
                inputs.alpha,
                study.family(),
            )
        ),
        "gap_sentence": (
            "Gap between training and validation accuracy in the last epoch: "
            f"{study.measure('cnn', 'final_gap').as_points()} without regularization, "
            f"{study.measure('cnn_regularized', 'final_gap').as_points()} with it. "
            + versus(
                study.measure("cnn_regularized", "final_gap"),
                study.measure("cnn", "final_gap"),
                "The regularized gap",
                "the plain one",
            )
        ),
    }


def mlp_vs_cnn_section(study: Study) -> dict[str, object]:
    inputs = study.inputs
    return {
        "params_sentence": (
            f"Parameters: MLP {study.total_params('mlp'):,} [study: "
            f"{STUDY['mlp_params']:,}], CNN {study.total_params('cnn'):,} [study: "
            f"{STUDY['cnn_params']:,}]; the MLP has "
            + relative_size(study.total_params("mlp"), study.total_params("cnn"))
            + " parameters than the CNN."
        ),
        "figure": figure(inputs.mlp_vs_cnn, "Validation accuracy of the MLP and the CNN"),
        "test_sentence": (
            f"Test accuracy: MLP {study.accuracy_text('mlp')} [study: "
            f"{pct(STUDY['mlp_test_acc'])}], CNN {study.accuracy_text('cnn')} [study: "
            f"{pct(STUDY['mlp_vs_cnn_cnn_test_acc'])}]. "
            + evidence_sentence(
                study.comparison("cnn", "mlp"), ("CNN", "MLP"), inputs.alpha, study.family()
            )
        ),
        "mlp_curves": figure(inputs.curves["mlp"], "MLP training and validation curves"),
        **class_section(study),
        "confusion": [
            figure(inputs.confusion[model], f"Confusion matrix of the {name}")
            for model, name in (("cnn", "CNN"), ("mlp", "MLP"))
        ],
        "examples": figure(
            inputs.cnn_vs_mlp_examples, "Test images one model gets right and the other wrong"
        ),
    }


def class_section(study: Study) -> dict[str, object]:
    classes = study.class_comparisons
    return {
        "class_sentence": class_lead(classes, study.inputs.alpha),
        "class_table": tables.class_comparisons(classes),
    }


def comparisons_section(study: Study) -> dict[str, object]:
    """Every comparison of comparisons.csv: the forest plot and the table behind it."""
    return {
        "alpha": f"{study.inputs.alpha:g}",
        "count": len(study.comparisons),
        "figure": figure(study.inputs.comparisons_plot, "Every comparison, with its 95% interval"),
        "table": tables.comparisons(study.comparisons),
    }


def experiments_section(inputs: ReportInputs) -> dict[str, object]:
    """The models beyond the study's three, and the comparison of every model."""
    frame = pd.read_csv(inputs.experiments, keep_default_na=False, na_values="")
    return {
        "extra": [model for model in frame["model"] if model not in STUDY_MODELS],
        "baseline": inputs.baseline,
        "summary": experiments_summary(frame, inputs.baseline, inputs.alpha),
        "table": tables.experiments(frame),
        "figure": figure(inputs.experiments_plot, "Validation accuracy of every model"),
    }


def report_context(study: Study) -> dict[str, object]:
    """Everything the templates show: numbers as text, sentences, tables and figures."""
    return {
        "seeds_note": study.seeds_note(),
        "filters": filters_section(study),
        "cnn": cnn_section(study),
        "regularized": regularized_section(study),
        "mlp_vs_cnn": mlp_vs_cnn_section(study),
        "accuracy_table": tables.test_accuracy(study),
        "comparisons": comparisons_section(study),
        "experiments": experiments_section(study.inputs),
        "cost_table": tables.cost(study.inputs.benchmarks, study.results),
    }
