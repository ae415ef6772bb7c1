"""The report's tables as the templates take them: column headings and rows of cells already
formatted (accuracies in percent, differences in points, each with its interval)."""

from __future__ import annotations

import pandas as pd

from fashion_mnist_study.core.formats import interval, pct
from fashion_mnist_study.outputs.report.numbers import RunNumbers
from fashion_mnist_study.outputs.report.wording import Measure, p_text, seeds_text


def table(columns: list[str], frame: pd.DataFrame) -> dict[str, object]:
    """A table for the templates: column headings and rows of already formatted cells."""
    return {"columns": columns, "rows": frame.astype(str).to_numpy().tolist()}


def points_with_interval(frame: pd.DataFrame, sign: str = "") -> list[str]:
    """Each row's difference and its 95% interval in points: '7.02 (6.40 to 7.64)'."""
    bounds = frame[["difference", "difference_low", "difference_high"]].itertuples(index=False)
    return [f"{100 * d:{sign}.2f} ({interval(low, high, sign)})" for d, low, high in bounds]


def filter_errors(errors: pd.DataFrame, kernel_names: list[str]) -> dict[str, object]:
    """filter_errors.csv with each filter by name."""
    return table(
        ["output", "example", "filter", "Euclidean distance", "max abs error"],
        pd.DataFrame(
            {
                "output": errors["output"],
                "example": errors["example"],
                "filter": [kernel_names[int(index)] for index in errors["filter"]],
                "distance": errors["euclidean_distance"].map("{:.3g}".format),
                "max": errors["max_abs_error"].map("{:.3g}".format),
            }
        ),
    )


def layers(params: pd.DataFrame, model: str) -> dict[str, object]:
    """One model's rows of params.csv: each layer with parameters, then the total."""
    layers = params[params["model"] == model]
    return table(
        ["layer", "type", "weight shape", "parameters"],
        layers[["layer", "type", "shape"]]
        .fillna("")
        .assign(params=layers["params"].map("{:,}".format)),
    )


def class_comparisons(classes: pd.DataFrame) -> dict[str, object]:
    """class_comparisons.csv: per class both accuracies, the lead and the verdict."""

    def with_interval(prefix: str) -> list[str]:
        bounds = zip(classes[f"{prefix}_low"], classes[f"{prefix}_high"], strict=True)
        return [
            f"{pct(accuracy)} ({interval(low, high)})"
            for accuracy, (low, high) in zip(classes[prefix], bounds, strict=True)
        ]

    return table(
        [
            "class",
            "CNN (95% CI)",
            "MLP (95% CI)",
            "CNN - MLP (points, 95% CI)",
            "p (Holm)",
            "verdict",
        ],
        pd.DataFrame(
            {
                "class": classes["class"],
                "cnn": with_interval("acc_a"),
                "mlp": with_interval("acc_b"),
                "lead": points_with_interval(classes),
                "p": classes["p_holm"].map(p_text),
                "verdict": classes["verdict"],
            }
        ),
    )


def test_accuracy(run: RunNumbers) -> dict[str, object]:
    """test_accuracy.csv: per model its seeds, accuracy with intervals, size and epochs."""
    accuracy = run.test_accuracy
    return table(
        ["model", "seeds", "test accuracy", "parameters", "epochs"],
        pd.DataFrame(
            {
                "model": accuracy["model"],
                "seeds": accuracy["seeds"].map(seeds_text),
                "test accuracy": [run.accuracy_text(model) for model in accuracy["model"]],
                "parameters": accuracy["params"].map("{:,}".format),
                "epochs": accuracy["epochs"],
            }
        ),
    )


def comparisons(rows: pd.DataFrame) -> dict[str, object]:
    """comparisons.csv: every comparison, its difference, test, p-values and verdict."""
    return table(
        [
            "comparison",
            "difference (points, 95% CI)",
            "interval",
            "b / c",
            "test",
            "p",
            "p (Holm)",
            "verdict",
        ],
        pd.DataFrame(
            {
                "comparison": rows["model_a"] + " vs " + rows["model_b"],
                "difference": points_with_interval(rows, sign="+"),
                "interval": rows["interval"],
                "b / c": rows["b"].astype(str) + " / " + rows["c"].astype(str),
                "test": rows["test"],
                "p": rows["p_value"].map(p_text),
                "p_holm": rows["p_holm"].map(p_text),
                "verdict": rows["verdict"],
            }
        ),
    )


def accuracies(frame: pd.DataFrame) -> list[str]:
    """Each row of experiments.csv's test accuracy with its interval: '91.23% (90.66 to
    91.77)', with several seeds '91.20% ± 0.14 (...)'; empty where a model has none."""
    columns = ["test_acc_mean", "test_acc_std", "seeds", "test_acc_low", "test_acc_high"]
    return [
        "" if pd.isna(mean) else f"{Measure(mean, std, n).as_pct()} ({interval(low, high)})"
        for mean, std, n, low, high in frame[columns].itertuples(index=False)
    ]


def experiments(frame: pd.DataFrame) -> dict[str, object]:
    """experiments.csv: every model, the settings that differ, its accuracy and its verdict
    against the baseline."""
    settings = list(frame.columns[2 : frame.columns.get_loc("params")])
    shown = (
        frame[["model", "architecture", *settings]]
        .fillna("")
        .astype(str)
        .assign(
            params=frame["params"].map("{:,}".format),
            seeds=frame["seeds"],
            test_acc=accuracies(frame),
            best_val=frame["best_val_acc"].map(pct),
            gap=(100 * frame["final_gap"]).map("{:.2f}".format),
            seconds=frame["train_seconds"].map("{:.1f}".format),
            vs_baseline=(100 * frame["vs_baseline"]).map("{:+.2f}".format),
            p_holm=frame["p_holm"].map(lambda p: "" if pd.isna(p) else p_text(p)),
            verdict=frame["verdict"],
        )
    )
    columns = [
        "model",
        "architecture",
        *settings,
        "parameters",
        "seeds",
        "test accuracy (95% CI)",
        "best validation",
        "last gap (points)",
        "training s",
        "vs baseline (points)",
        "p (Holm)",
        "verdict",
    ]
    return table(columns, shown)


def job_costs(benchmarks: dict[str, str], results: pd.DataFrame) -> list[tuple[str, float, float]]:
    """Per job: its wall seconds and peak resident memory (MB; NaN where not sampled), from
    Snakemake's benchmark files; for the training jobs, which Snakemake cannot benchmark (they
    are cached), as they measured themselves: start-up and training seconds, peak memory."""
    costs = []
    for job, path in benchmarks.items():
        measured = pd.read_csv(path, sep="\t", na_values=["-", "NA"]).iloc[0]
        costs.append((job, float(measured["s"]), float(measured["max_rss"])))
    for result in results.to_dict("records"):
        seconds = result["seconds"] + sum(result["seconds_before_first_step"].values())
        job = f"train model={result['model']} seed={result['seed']}"
        costs.append((job, seconds, float(result["peak_rss_mb"])))
    return costs


def cost(costs: list[tuple[str, float, float]]) -> dict[str, object]:
    """job_costs as a table: job, seconds, peak memory (MB)."""
    rows = [
        [job, f"{seconds:.1f}", "n/a" if pd.isna(rss) else f"{rss:,.0f}"]
        for job, seconds, rss in costs
    ]
    columns = ["job", "seconds", "peak memory (MB)"]
    return table(columns, pd.DataFrame(rows, columns=columns))


def findings(run: RunNumbers, coursework: dict[str, str]) -> dict[str, object]:
    """The coursework's models: test accuracy with its interval beside the coursework's."""
    models = list(coursework)
    accuracy = run.test_accuracy.loc[models]
    return table(
        ["model", "test accuracy (95% CI)", "the coursework"],
        pd.DataFrame(
            {
                "model": models,
                "accuracy": [
                    f"{run.test_acc(model).as_pct()} ({interval(low, high)})"
                    for model, low, high in zip(
                        models, accuracy["test_acc_low"], accuracy["test_acc_high"], strict=True
                    )
                ],
                "coursework": [coursework[model] for model in models],
            }
        ),
    )


def leaderboard(
    frame: pd.DataFrame, order: list[str], settings: list[str], marks: dict[str, str]
) -> dict[str, object]:
    """experiments.csv as a leaderboard: every model in `order` (best first), its test
    accuracy with its interval, its difference from the baseline and the verdict; of the
    settings, only `settings`; `marks` beside a model's name (the best, the coursework's)."""
    ranked = frame.set_index("model", drop=False).loc[order]
    accuracy = accuracies(ranked)
    shown = pd.DataFrame(
        {
            "rank": range(1, len(ranked) + 1),
            "model": [
                f"{model} {marks[model]}".strip() if model in marks else model
                for model in ranked["model"]
            ],
            "test accuracy (95% CI)": accuracy,
            "vs baseline (points)": (100 * ranked["vs_baseline"]).map("{:+.2f}".format),
            "p (Holm)": ranked["p_holm"].map(lambda p: "" if pd.isna(p) else p_text(p)),
            "verdict": ranked["verdict"],
            **{setting: ranked[setting].fillna("").astype(str) for setting in settings},
        }
    )
    return table(list(shown.columns), shown)
