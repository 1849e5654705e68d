"""Trains the anomaly model and writes model.onnx, model-metadata.json and heldout-sample.json here.

Data: generate_data.py (seeded). Split 60/20/20 stratified: train, validation (picks the threshold),
held-out test (the metrics the model card states). Run through ./retrain.sh, which makes the venv.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from generate_data import generate

HERE = Path(__file__).resolve().parent
ROWS = 30_000
DATA_SEED = 20240611
SPLIT_SEED = 11
SAMPLE_ROWS = 300
HIDDEN = 16
# The threshold is the lowest that keeps validation precision at or above this: an anomaly incident
# should rarely be a false alarm, since the rules already catch the obvious cases.
TARGET_PRECISION = 0.95
INPUT_NAME = "features"
OUTPUT_NAME = "attack_probability"

# Mirror of FEATURES in features.ts (same order, same transforms); features.test.ts checks they agree.
# The committed model was trained on these; the detector serves them with one gate these lack
# (features.ts SERVING_GATES: http4xxShare is 0 below 5 HTTP requests, MODEL_CARD.md "Serving"). A
# retrain should move the gate here and into FEATURES there: training would then see what serving sends.
FEATURES = [
    ("eventsPerMin", "logRate", ("events",)),
    ("failedLoginsPerMin", "logRate", ("failedLogins",)),
    ("successfulLoginsPerMin", "logRate", ("successfulLogins",)),
    ("loginFailureRatio", "ratio", ("failedLogins", "successfulLogins")),
    ("distinctUsernames", "logCount", ("distinctUsernames",)),
    ("distinctPasswords", "logCount", ("distinctPasswords",)),
    ("commandsPerMin", "logRate", ("commands",)),
    ("downloads", "logCount", ("downloads",)),
    ("distinctDestPorts", "logCount", ("distinctDestPorts",)),
    ("distinctDestIps", "logCount", ("distinctDestIps",)),
    ("flowsPerMin", "logRate", ("flows",)),
    ("bytesOutPerMin", "logRate", ("bytesOut",)),
    ("bytesInPerMin", "logRate", ("bytesIn",)),
    ("bytesOutInLogRatio", "logDiff", ("bytesOut", "bytesIn")),
    ("alertsPerMin", "logRate", ("alerts",)),
    ("maxAlertSeverity", "raw", ("maxAlertSeverity",)),
    ("httpRequestsPerMin", "logRate", ("httpRequests",)),
    ("http4xxShare", "share", ("http4xx", "httpRequests")),
    ("auditRequestsPerMin", "logRate", ("auditRequests",)),
    ("auditForbiddenShare", "share", ("auditForbidden", "auditRequests")),
    ("secretReadsPerMin", "logRate", ("secretReads",)),
    ("execsPerMin", "logRate", ("execs",)),
]
FEATURE_NAMES = [name for name, _, _ in FEATURES]


def feature_vector(b: dict) -> np.ndarray:
    minutes = max(b["windowSeconds"], 1) / 60
    out = []
    for _, kind, fields in FEATURES:
        v = [float(b[f]) for f in fields]
        if kind == "logRate":
            out.append(math.log1p(v[0] / minutes))
        elif kind == "logCount":
            out.append(math.log1p(v[0]))
        elif kind == "raw":
            out.append(v[0])
        elif kind == "ratio":
            out.append(v[0] / (v[0] + v[1]) if v[0] + v[1] > 0 else 0.0)
        elif kind == "share":
            out.append(min(1.0, max(0.0, v[0] / v[1])) if v[1] > 0 else 0.0)
        elif kind == "logDiff":
            out.append(math.log1p(v[0]) - math.log1p(v[1]))
        else:
            raise ValueError(kind)
    return np.array(out, dtype=np.float32)


def metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = (p >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    return {
        "rows": int(len(y)), "attacks": int(y.sum()),
        "precision": round(float(precision), 4), "recall": round(float(recall), 4), "f1": round(float(f1), 4),
        "tp": int(((pred == 1) & (y == 1)).sum()), "fp": int(((pred == 1) & (y == 0)).sum()),
        "fn": int(((pred == 0) & (y == 1)).sum()), "tn": int(((pred == 0) & (y == 0)).sum()),
        "rocAuc": round(float(roc_auc_score(y, p)), 4),
    }


def pick_threshold(y: np.ndarray, p: np.ndarray) -> float:
    for t in np.round(np.arange(0.05, 1.0, 0.01), 2):
        pred = p >= t
        if pred.sum() and (y[pred] == 1).mean() >= TARGET_PRECISION:
            return float(t)
    return 0.99


def export_onnx(model: Pipeline) -> onnx.ModelProto:
    onx = to_onnx(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(FEATURES)]))],
        options={MLPClassifier: {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    # skl2onnx gives [N, 2] probabilities and a label; expose only column 1 as a plain [N] float tensor.
    graph = onx.graph
    probabilities = next(o.name for o in graph.output if o.name != "label")
    graph.initializer.append(helper.make_tensor("attack_column", TensorProto.INT64, [], [1]))
    graph.node.append(helper.make_node("Gather", [probabilities, "attack_column"], [OUTPUT_NAME], axis=1))
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None]))
    onx = onnx.utils.Extractor(onx).extract_model([INPUT_NAME], [OUTPUT_NAME])
    for value in (onx.graph.input[0], onx.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    onx.producer_name = "minixdr-train"
    onnx.checker.check_model(onx, full_check=True)
    return onx


def main() -> None:
    rows = generate(ROWS, DATA_SEED)
    X = np.stack([feature_vector(r["behaviour"]) for r in rows])
    y = np.array([r["label"] for r in rows])
    idx = np.arange(len(rows))
    train_idx, rest_idx = train_test_split(idx, test_size=0.4, stratify=y, random_state=SPLIT_SEED)
    val_idx, test_idx = train_test_split(rest_idx, test_size=0.5, stratify=y[rest_idx], random_state=SPLIT_SEED)

    # One hidden layer: beats a logistic regression by far on recall (0.96 vs 0.73 at the same precision
    # target) and stays a few lines of arithmetic (baseline.ts).
    mlp = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=1e-3, max_iter=500, early_stopping=True, random_state=0)
    model = Pipeline([("scaler", StandardScaler()), ("mlp", mlp)])
    model.fit(X[train_idx], y[train_idx])

    onx = export_onnx(model)
    run = ReferenceEvaluator(onx)

    def prob(ix: np.ndarray) -> np.ndarray:
        return run.run(None, {INPUT_NAME: X[ix]})[0].astype(np.float64)

    sk = model.predict_proba(X[test_idx])[:, 1]
    onnx_test = prob(test_idx)
    drift = float(np.abs(sk - onnx_test).max())
    if drift > 1e-5:
        sys.exit(f"ONNX and scikit-learn disagree by {drift}")

    threshold = pick_threshold(y[val_idx], prob(val_idx))
    validation = metrics(y[val_idx], prob(val_idx), threshold)
    heldout = metrics(y[test_idx], onnx_test, threshold)

    per_scenario: dict[str, dict] = {}
    for i, p in zip(test_idx, onnx_test):
        s = per_scenario.setdefault(rows[i]["scenario"], {"label": rows[i]["label"], "rows": 0, "flagged": 0})
        s["rows"] += 1
        s["flagged"] += int(p >= threshold)
    for s in per_scenario.values():
        s["flaggedShare"] = round(s["flagged"] / s["rows"], 4)

    rng = np.random.default_rng(SPLIT_SEED)
    sample_idx = np.sort(rng.choice(test_idx, size=SAMPLE_ROWS, replace=False))
    sample_p = prob(sample_idx)
    sample = [
        {
            "scenario": rows[i]["scenario"], "label": rows[i]["label"], "behaviour": rows[i]["behaviour"],
            "features": [float(v) for v in X[i]], "probability": float(np.float32(p)),
        }
        for i, p in zip(sample_idx, sample_p)
    ]
    sample_metrics = metrics(y[sample_idx], sample_p, threshold)

    model_bytes = onx.SerializeToString()
    sha = hashlib.sha256(model_bytes).hexdigest()
    version = f"{datetime.date.today():%Y%m%d}-{sha[:12]}"
    scaler: StandardScaler = model.named_steps["scaler"]
    mlp = model.named_steps["mlp"]
    metadata = {
        "version": version,
        "modelFile": "model.onnx",
        "modelSha256": sha,
        "input": {"name": INPUT_NAME, "shape": ["N", len(FEATURES)], "type": "float32"},
        "output": {"name": OUTPUT_NAME, "shape": ["N"], "type": "float32", "meaning": "probability of attack"},
        "featureNames": FEATURE_NAMES,
        "threshold": threshold,
        "thresholdRule": f"lowest threshold (step 0.01) with validation precision >= {TARGET_PRECISION}",
        "model": {
            "kind": f"StandardScaler + MLPClassifier({HIDDEN}, relu) with logistic output",
            "scalerMean": [float(v) for v in scaler.mean_],
            "scalerScale": [float(v) for v in scaler.scale_],
            # weights[i][j] joins input i to unit j
            "layers": [
                {"weights": w.tolist(), "bias": b.tolist(), "activation": "relu" if k < len(mlp.coefs_) - 1 else "logistic"}
                for k, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_))
            ],
        },
        "data": {
            "generator": "generate_data.py", "rows": ROWS, "seed": DATA_SEED, "attackShare": round(float(y.mean()), 4),
            "split": {"train": len(train_idx), "validation": len(val_idx), "heldout": len(test_idx), "seed": SPLIT_SEED},
        },
        "metrics": {
            "validation": validation, "heldout": heldout, "heldoutSample": sample_metrics,
            "heldoutPerScenario": dict(sorted(per_scenario.items())),
        },
        "versions": {"scikit-learn": __import__("sklearn").__version__, "skl2onnx": __import__("skl2onnx").__version__,
                     "onnx": onnx.__version__, "numpy": np.__version__},
    }

    (HERE / "model.onnx").write_bytes(model_bytes)
    (HERE / "model-metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    (HERE / "heldout-sample.json").write_text(json.dumps(sample, separators=(",", ":")) + "\n")

    print(f"version {version}, threshold {threshold}")
    for name, m in (("validation", validation), ("held-out", heldout), ("held-out sample", sample_metrics)):
        print(f"{name:>16}: precision {m['precision']:.4f} recall {m['recall']:.4f} f1 {m['f1']:.4f} "
              f"auc {m['rocAuc']:.4f} (tp {m['tp']} fp {m['fp']} fn {m['fn']} tn {m['tn']})")
    for name, s in sorted(per_scenario.items()):
        print(f"  {'attack' if s['label'] else 'benign'} {name:<22} flagged {s['flagged']:>4}/{s['rows']:<4} {s['flaggedShare']:.3f}")


if __name__ == "__main__":
    main()
