#!/usr/bin/env python3
"""nntune export against an independent reading of the ONNX file.

Trains small models with the nntune CLI on the data the examples use (wine, breast cancer,
Boston, and a generated image-shaped .npy set), exports each with `nntune export`, checks the
file with onnx.checker (full check, with shape inference), runs the graph with the small NumPy
evaluator below (written from the ONNX operator specifications, not from nntune's code) and
compares its outputs with `nntune predict` on the same raw features, to 1e-5.

Usage: onnx_export_test.py NNTUNE_BINARY WORK_DIR
Exits 77 (ctest: skipped) when python3-onnx, NumPy or sklearn's CSVs are missing (scripts/deps.sh
build data installs them).
"""
import csv
import functools
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skipped: {e} (install python3-onnx and python3-numpy: scripts/deps.sh build)")
    sys.exit(77)

SKLEARN = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
TOLERANCE = 1e-5


# ---- a NumPy evaluator of the operators the exporter uses (ONNX opset 13 semantics) ----

def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _gemm(node, a, b, c=None):
    attrs = {a_.name: onnx.helper.get_attribute_value(a_) for a_ in node.attribute}
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    y = attrs.get("alpha", 1.0) * (a @ b)
    if c is not None:
        y = y + attrs.get("beta", 1.0) * c
    return y


def _flatten(node, x):
    axis = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}.get("axis", 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


_erf = np.vectorize(math.erf)


def _window(node, x, fill):
    """x (N, C, H, W) padded with `fill` as the node's pads say, and the window attributes."""
    kh, kw = _attr(node, "kernel_shape", None)
    sh, sw = _attr(node, "strides", [1, 1])
    dh, dw = _attr(node, "dilations", [1, 1])
    top, left, bottom, right = _attr(node, "pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)
    oh = (xp.shape[2] - (dh * (kh - 1) + 1)) // sh + 1
    ow = (xp.shape[3] - (dw * (kw - 1) + 1)) // sw + 1
    return xp, (kh, kw, sh, sw, dh, dw, oh, ow)


def _taps(xp, geometry):
    """Every kernel tap's strided view: yields (ky, kx, view of shape (N, C, oh, ow))."""
    kh, kw, sh, sw, dh, dw, oh, ow = geometry
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            yield ky, kx, xp[:, :, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]


def _conv(node, x, w, b=None):
    group = _attr(node, "group", 1)
    xp, geometry = _window(node, x, 0.0)
    f, cg = w.shape[0], w.shape[1]
    fg = f // group
    out = np.zeros((x.shape[0], f, geometry[6], geometry[7]))
    for ky, kx, view in _taps(xp, geometry):
        for g in range(group):
            # (N, Cg, oh, ow) x (Fg, Cg) -> (N, Fg, oh, ow)
            out[:, g * fg:(g + 1) * fg] += np.einsum("nchw,fc->nfhw", view[:, g * cg:(g + 1) * cg],
                                                     w[g * fg:(g + 1) * fg, :, ky, kx])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def _max_pool(node, x):
    xp, geometry = _window(node, x, -np.inf)
    return np.max([view for _, _, view in _taps(xp, geometry)], axis=0)


def _average_pool(node, x):
    if _attr(node, "count_include_pad", 0):
        raise AssertionError("the evaluator only knows count_include_pad=0")
    xp, geometry = _window(node, x, 0.0)
    ones, _ = _window(node, np.ones_like(x), 0.0)
    total = sum(view for _, _, view in _taps(xp, geometry))
    count = sum(view for _, _, view in _taps(ones, geometry))
    return total / count


def _reduce(fn):
    def op(node, x, axes=None):
        if axes is None:
            axes = _attr(node, "axes", None)
        axes = tuple(int(a) for a in np.atleast_1d(axes))
        return fn(x, axis=axes, keepdims=bool(_attr(node, "keepdims", 1)))
    return op


def _reshape(node, x, shape):
    target = [x.shape[i] if int(d) == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(target)


def _one_hot_encoder(node, x):
    """ONNX-ML OneHotEncoder over strings: one more axis of len(cats_strings); an unknown string
    gives zeros (zeros=1) or fails (zeros=0)."""
    cats = [c.decode() if isinstance(c, bytes) else c for c in _attr(node, "cats_strings", [])]
    index = {c: i for i, c in enumerate(cats)}
    out = np.zeros(x.shape + (len(cats),))
    for pos, v in np.ndenumerate(x):
        v = v.decode() if isinstance(v, bytes) else str(v)
        if v in index:
            out[pos + (index[v],)] = 1.0
        elif not _attr(node, "zeros", 1):
            raise AssertionError(f"OneHotEncoder: unknown category {v!r} with zeros=0")
    return out


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_ACTIVATIONS = {"Tanh": np.tanh, "Relu": lambda v: np.maximum(v, 0.0), "Sigmoid": _sigmoid}


def _recurrent(cell):
    """ONNX RNN / GRU / LSTM (layout 0: X is (steps, batch, features)), outputs Y and Y_h."""
    def op(node, x, w, r, b=None):
        steps, batch, _ = x.shape
        directions, hidden = w.shape[0], _attr(node, "hidden_size", None)
        if b is None:
            b = np.zeros((directions, 2 * w.shape[1]))
        y = np.zeros((steps, directions, batch, hidden))
        y_h = np.zeros((directions, batch, hidden))
        for d in range(directions):
            state = {"h": np.zeros((batch, hidden)), "c": np.zeros((batch, hidden))}
            wb, rb = b[d, :w.shape[1]], b[d, w.shape[1]:]
            for t in (range(steps) if d == 0 else range(steps - 1, -1, -1)):
                cell(node, x[t], w[d], r[d], wb, rb, state, hidden, d)
                y[t, d] = state["h"]
            y_h[d] = state["h"]
        return y, y_h
    return op


def _rnn_cell(node, x, w, r, wb, rb, state, hidden, d):
    f = _ACTIVATIONS[_attr(node, "activations", [b"Tanh", b"Tanh"])[d].decode()]
    state["h"] = f(x @ w.T + state["h"] @ r.T + wb + rb)


def _lstm_cell(node, x, w, r, wb, rb, state, hidden, d):
    z = x @ w.T + state["h"] @ r.T + wb + rb
    i, o, f, c = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
    state["c"] = _sigmoid(f) * state["c"] + _sigmoid(i) * np.tanh(c)
    state["h"] = _sigmoid(o) * np.tanh(state["c"])


def _gru_cell(node, x, w, r, wb, rb, state, hidden, d):
    if _attr(node, "linear_before_reset", 0) != 1:
        raise AssertionError("the evaluator only knows linear_before_reset=1")
    h = state["h"]
    gx = x @ w.T + wb
    gh = h @ r.T + rb
    part = lambda m, k: m[:, k * hidden:(k + 1) * hidden]
    z = _sigmoid(part(gx, 0) + part(gh, 0))
    reset = _sigmoid(part(gx, 1) + part(gh, 1))
    candidate = np.tanh(part(gx, 2) + reset * part(gh, 2))
    state["h"] = (1.0 - z) * candidate + z * h

def _top_k(node, x, k):
    """TopK (opset 11): the k largest (largest=1) or smallest values along `axis` and their
    indices; of two equal values the one with the lower index comes first."""
    axis = _attr(node, "axis", -1)
    k = int(np.asarray(k).reshape(-1)[0])
    # A stable sort keeps equal values in index order, the spec's tie-break; sorted=0 allows any
    # order, so sorted order serves both.
    order = np.argsort(-x if _attr(node, "largest", 1) else x, axis=axis, kind="stable")
    indices = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, indices, axis=axis), indices


def _gather_elements(node, data, indices):
    """GatherElements (opset 13): out[i][j][k] = data[i][indices[i][j][k]][k] for axis 1 (and so
    on for the other axes), out shaped like indices; indices in [-s, s-1]."""
    axis = _attr(node, "axis", 0) % data.ndim
    s = data.shape[axis]
    if not ((indices >= -s) & (indices < s)).all():
        raise AssertionError(f"GatherElements: an index outside [-{s}, {s - 1}] (node {node.name})")
    where = list(np.indices(indices.shape, sparse=True))
    where[axis] = np.where(indices < 0, indices + s, indices)
    return data[tuple(where)]


def _unsqueeze(node, x, axes):
    """Unsqueeze (opset 13, axes an input): axes name positions in the output, negative from its end."""
    rank = x.ndim + len(axes)
    for a in sorted(int(a) % rank for a in axes):
        x = np.expand_dims(x, a)
    return x


OPS = {
    "Identity": lambda n, x: x,
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a / b,
    "Sum": lambda n, *xs: sum(xs[1:], xs[0]),
    "MatMul": lambda n, a, b: a @ b,
    "Gemm": _gemm,
    "Relu": lambda n, x: np.maximum(x, 0.0),
    "Sigmoid": lambda n, x: 1.0 / (1.0 + np.exp(-x)),
    "Tanh": lambda n, x: np.tanh(x),
    "Erf": lambda n, x: _erf(x),
    "LeakyRelu": lambda n, x: np.where(x >= 0, x, _attr(n, "alpha", 0.01) * x),
    "Elu": lambda n, x: np.where(x >= 0, x, _attr(n, "alpha", 1.0) * (np.exp(x) - 1.0)),
    "Softmax": lambda n, x: _softmax(x, _attr(n, "axis", -1)),
    "Flatten": _flatten,
    "Transpose": lambda n, x: np.transpose(x, _attr(n, "perm", None)),
    "Reshape": _reshape,
    "Sqrt": lambda n, x: np.sqrt(x),
    "ReduceMean": _reduce(np.mean),
    "ReduceSum": _reduce(np.sum),
    "Cast": lambda n, x: x.astype({7: np.int64, 1: np.float64}[_attr(n, "to", None)]),
    "Gather": lambda n, data, indices: np.take(data, indices, axis=_attr(n, "axis", 0)),
    "OneHotEncoder": _one_hot_encoder,
    "Conv": _conv,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "RNN": _recurrent(_rnn_cell),
    "LSTM": _recurrent(_lstm_cell),
    "GRU": _recurrent(_gru_cell),
    "IsNaN": lambda n, x: np.isnan(x),
    "Where": lambda n, c, a, b: np.where(c, a, b),
    "Concat": lambda n, *xs: np.concatenate(xs, axis=_attr(n, "axis", 0)),
    "Equal": lambda n, a, b: a == b,
    "Not": lambda n, x: np.logical_not(x),
    "Greater": lambda n, a, b: a > b,
    "Max": lambda n, *xs: functools.reduce(np.maximum, xs),
    "Unsqueeze": _unsqueeze,
    # Expand: multidirectional broadcast of x and `shape` (either may hold 1s).
    "Expand": lambda n, x, shape: x * np.ones(tuple(int(d) for d in shape), dtype=x.dtype),
    "TopK": _top_k,
    "GatherElements": _gather_elements,
}


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def evaluate(model, x, text=None):
    """Runs the graph in float64 (a reference less rounded than nntune's float32); `text` feeds
    the second input (a model's text columns, strings)."""
    values = {}
    if text is not None:
        values[model.graph.input[1].name] = text
    for t in model.graph.initializer:
        array = numpy_helper.to_array(t)
        values[t.name] = array if array.dtype == np.int64 else array.astype(np.float64)
    values[model.graph.input[0].name] = x.astype(np.float64)
    for node in model.graph.node:  # ONNX requires nodes in topological order
        if node.op_type not in OPS:
            raise AssertionError(f"the evaluator has no {node.op_type} (node {node.name})")
        result = OPS[node.op_type](node, *[values[i] for i in node.input if i])
        if len(node.output) == 1:
            result = (result,)
        for name, value in zip(node.output, result):
            if name:
                values[name] = value
    return values[model.graph.output[0].name]


# ---- running nntune ----

class Failure(Exception):
    pass


def run(args, cwd, expect=0):
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != expect:
        raise Failure(f"{' '.join(args)} exited {proc.returncode} (expected {expect})\n{proc.stdout}\n{proc.stderr}")
    return proc


def predictions(nntune, cwd, model, data):
    """nntune predict's numbers: the probability columns (p0, p1, ...) or the value columns."""
    out = run([nntune, "predict", model, data, "-o", "pred.csv"], cwd)
    with open(os.path.join(cwd, "pred.csv")) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = [i for i, name in enumerate(header) if name != "class"]
    return header, np.array([[float(r[i]) for i in columns] for r in body])


def raw_features(path, skip_rows, header, label_column):
    """The CSV's feature columns as nntune reads them (the label column dropped)."""
    with open(path) as f:
        rows = list(csv.reader(f))[skip_rows + (1 if header else 0):]
    x = np.array([[float(v) for v in r] for r in rows if r])
    return np.delete(x, label_column, axis=1)


def check(name, nntune, cwd, model_file, data_file, x, text=None):
    onnx_file = name + ".onnx"
    run([nntune, "export", model_file, "-o", onnx_file], cwd)
    model = onnx.load(os.path.join(cwd, onnx_file))
    onnx.checker.check_model(model, full_check=True)
    header, expected = predictions(nntune, cwd, model_file, data_file)
    got = evaluate(model, x, text)
    if header[0] == "class" and got.shape[1] == 1:  # binary: predict prints P(0), P(1)
        got = np.concatenate([1.0 - got, got], axis=1)
    if got.shape != expected.shape:
        raise Failure(f"{name}: the ONNX graph gives shape {got.shape}, nntune predict {expected.shape}")
    # Values far from 1 (regression targets) are compared relative to their size.
    error = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    worst = float(error.max())
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{name}: {x.shape[0]} samples, {len(model.graph.node)} nodes ({', '.join(ops)}), "
          f"largest difference {worst:.2e}")
    if not worst <= TOLERANCE:
        raise Failure(f"{name}: the ONNX graph differs from nntune predict by {worst:.3e} (> {TOLERANCE})")
    return model


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def csv_source(path, label=None):
    extra = f", label: {label}" if label is not None else ""
    return f"{{csv: {{path: {path}, skip_rows: 1, header: false{extra}}}}}"


def compose_ensemble(paths, weights, out):
    """Writes an ensemble file of single-model files, as src/nn/model_io.cpp documents the format:
    magic, u32 version, u32 header length, JSON header, float32 values, CRC-32 of all before it."""
    header, values = None, b""
    members = []
    for path, weight in zip(paths, weights):
        with open(path, "rb") as f:
            data = f.read()
        assert data[:8] == b"NNTUNE\0M" and struct.unpack("<I", data[8:12])[0] == 1, path
        length = struct.unpack("<I", data[12:16])[0]
        single = json.loads(data[16:16 + length])
        header = header or {k: single[k] for k in ("loss", "task", "num_classes", "metadata")}
        members.append({"weight": weight, **{k: single[k] for k in ("network", "scaler", "num_params", "num_state")}})
        values += data[16 + length:-4]
    header.update(members=members, num_params=sum(m["num_params"] for m in members),
                  num_state=sum(m["num_state"] for m in members))
    text = json.dumps(header).encode()
    body = b"NNTUNE\0M" + struct.pack("<II", 2, len(text)) + text + values
    with open(out, "wb") as f:
        f.write(body + struct.pack("<I", zlib.crc32(body)))


def main():
    nntune, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    wine, cancer, boston = (f"{SKLEARN}/{f}" for f in ("wine_data.csv", "breast_cancer.csv", "boston_house_prices.csv"))
    if not os.path.exists(wine):
        print(f"skipped: {wine} is missing (install python3-sklearn: scripts/deps.sh data)")
        sys.exit(77)

    # 1. Every layer kind and activation, categorical cross-entropy (softmax link), minmax scaler.
    write(os.path.join(work, "every_layer.yaml"), f"""
seed: 3
data:
  train: {csv_source(wine)}
  validation: {{split: 0.2}}
  scale: minmax
model:
  layers:
    - {{type: flatten}}
    - {{type: dense, units: 12, activation: tanh}}
    - {{type: batch_norm, momentum: 0.8}}
    - {{type: dropout, rate: 0.2}}
    - {{type: activation, name: leaky_relu, slope: 0.2}}
    - {{type: dense, units: 10, activation: gelu}}
    - {{type: activation, name: elu, alpha: 0.7}}
    - {{type: dense, units: 9, activation: leaky_relu}}
    - {{type: dense, units: 8, activation: elu}}
    - {{type: sigmoid}}
    - {{type: dense, units: 8, activation: relu, use_bias: false}}
    - {{type: dense, units: 6, activation: softmax}}
    - {{type: relu}}
    - {{type: gelu}}
    - {{type: tanh}}
    - {{type: dense, units: 3}}
train: {{optimizer: {{name: adam, lr: 0.01}}, batch_size: 16, epochs: 8}}
output: {{dir: every_layer}}
""")
    run([nntune, "train", "every_layer.yaml", "-q", "--no-report"], work)
    model = check("every_layer", nntune, work, "every_layer/model.nnt", wine, raw_features(wine, 1, False, -1))
    missing = {"Gemm", "Tanh", "Mul", "Add", "Identity", "LeakyRelu", "Erf", "Elu", "Sigmoid", "Relu", "Softmax",
               "Flatten", "Sub"} - {n.op_type for n in model.graph.node}
    if missing:
        raise Failure(f"every_layer: the graph lacks {sorted(missing)}")

    # 2. Binary cross-entropy (sigmoid link) on breast cancer, standard scaler, batch norm.
    write(os.path.join(work, "cancer.yaml"), f"""
seed: 5
data:
  train: {csv_source(cancer)}
  validation: {{split: 0.2}}
  scale: standard
model: {{hidden: [16, 8], activation: relu, batch_norm: true, dropout: 0.1}}
train: {{loss: binary_crossentropy, optimizer: {{name: adam, lr: 0.01}}, batch_size: 32, epochs: 5}}
output: {{dir: cancer}}
""")
    run([nntune, "train", "cancer.yaml", "-q", "--no-report"], work)
    check("breast_cancer", nntune, work, "cancer/model.nnt", cancer, raw_features(cancer, 1, False, -1))

    # 3. Regression (no link), a label column in the middle of the CSV, the divide scaler.
    write(os.path.join(work, "boston.yaml"), f"""
seed: 3
data:
  train: {{csv: {{path: {boston}, skip_rows: 1, header: true, label: MEDV}}}}
  task: regression
  validation: {{split: 0.2}}
  scale: {{divide: 100}}
model: {{hidden: [32, 16], activation: elu}}
train: {{loss: mse, optimizer: {{name: adam, lr: 0.003}}, batch_size: 32, epochs: 10}}
output: {{dir: boston}}
""")
    run([nntune, "train", "boston.yaml", "-q", "--no-report"], work)
    check("boston", nntune, work, "boston/model.nnt", boston, raw_features(boston, 2, False, -1))

    # 4. Samples of shape (2, 3): the scaler and batch norm act per feature of the whole sample.
    rng = np.random.default_rng(0)
    images = rng.normal(size=(90, 2, 3)).astype(np.float32) * np.array([1, 5, 10], dtype=np.float32) + 3
    labels = (images[:, 0, :].sum(axis=1) > images[:, 1, :].sum(axis=1)).astype(np.int64)
    np.save(os.path.join(work, "images.npy"), images)
    np.save(os.path.join(work, "labels.npy"), labels)
    write(os.path.join(work, "images.yaml"), """
seed: 1
data:
  train: {npy: {x: images.npy, y: labels.npy}}
  validation: {split: 0.2}
  scale: standard
model:
  layers:
    - {type: batch_norm}
    - {type: tanh}
    - {type: flatten}
    - {type: dense, units: 2}
train: {optimizer: {name: adam, lr: 0.05}, batch_size: 16, epochs: 4}
output: {dir: images}
""")
    run([nntune, "train", "images.yaml", "-q", "--no-report"], work)
    check("images", nntune, work, "images/model.nnt", "images.npy", images)

    # 5. Ensembles (format version 2), members averaged in one graph: what nntune ensemble keeps
    # of a study's models, and one of unlike members (scalers, depths, weights) put together.
    write(os.path.join(work, "ens.yaml"), f"""
seed: 7
data:
  train: {csv_source(wine)}
  validation: {{split: 0.25}}
  scale: standard
model:
  hidden: [{{int: [3, 16]}}]
  activation: {{choice: [relu, tanh, sigmoid]}}
train: {{optimizer: {{name: adam, lr: {{float: [0.003, 0.03], log: true}}}}, batch_size: 16, epochs: 6}}
tune:
  objective: {{metric: val_loss}}
  sampler: {{name: random, seed: 2}}
  trials: 3
  storage: sqlite:///ens.db
""")
    run([nntune, "tune", "ens.yaml", "--save-models", "models", "-q"], work)
    run([nntune, "ensemble", "ens", "--storage", "sqlite:///ens.db", "--models", "models", "-o", "ens.nnt"], work)
    check("ensemble_selected", nntune, work, "ens.nnt", wine, raw_features(wine, 1, False, -1))
    members = ["every_layer/model.nnt", "models/trial_0/model.nnt", "models/trial_2/model.nnt"]
    compose_ensemble([os.path.join(work, m) for m in members], [0.5, 0.3, 0.2], os.path.join(work, "mixed.nnt"))
    model = check("ensemble_mixed", nntune, work, "mixed.nnt", wine, raw_features(wine, 1, False, -1))
    if {p.key: p.value for p in model.metadata_props}.get("nntune.ensemble_members") != "3":
        raise Failure(f"ensemble_mixed: the ONNX metadata does not count 3 members: {model.metadata_props}")
    if sum(n.op_type == "Softmax" for n in model.graph.node) < 4:  # three links and the layer
        raise Failure("ensemble_mixed: the graph does not hold every member")

    # 6. Convolutional layers on (height, width, channels) images: padding same / numbers,
    # strides, dilation, groups (depthwise), both pools (padded), global pooling, layer norm
    # and reshape, each against ONNX's NCHW operators.
    images = rng.normal(size=(64, 9, 8, 2)).astype(np.float32)
    labels = (images[:, :4, :, 0].mean(axis=(1, 2)) > images[:, 4:, :, 1].mean(axis=(1, 2))).astype(np.int64)
    labels += (images[:, :, :, 0].std(axis=(1, 2)) > 1.0).astype(np.int64)
    np.save(os.path.join(work, "cnn_x.npy"), images)
    np.save(os.path.join(work, "cnn_y.npy"), labels)
    write(os.path.join(work, "cnn.yaml"), """
seed: 4
data:
  train: {npy: {x: cnn_x.npy, y: cnn_y.npy}}
  validation: {split: 0.25}
  scale: standard
model:
  layers:
    - {type: conv2d, filters: 4, kernel: 3, padding: same, activation: relu}
    - {type: conv2d, filters: 4, kernel: [2, 3], groups: 4, padding: [1, 0], dilation: [1, 2], use_bias: false}
    - {type: max_pool2d, kernel: 2, padding: same}
    - {type: conv2d, filters: 6, kernel: 3, stride: 2, padding: 1, groups: 2, activation: tanh}
    - {type: avg_pool2d, kernel: 3, stride: 1, padding: 1}
    - {type: layer_norm}
    - {type: reshape, shape: [-1, 3]}
    - {type: layer_norm, scale: false}
    - {type: reshape, shape: [3, 3, 2]}
    - {type: global_avg_pool2d}
    - {type: dense, units: 3}
train: {optimizer: {name: adam, lr: 0.01}, batch_size: 16, epochs: 3}
output: {dir: cnn}
""")
    run([nntune, "train", "cnn.yaml", "-q", "--no-report"], work)
    model = check("cnn", nntune, work, "cnn/model.nnt", "cnn_x.npy", images)
    missing = {"Conv", "MaxPool", "AveragePool", "ReduceMean", "Reshape", "Transpose", "Sqrt"} - {
        n.op_type for n in model.graph.node}
    if missing:
        raise Failure(f"cnn: the graph lacks {sorted(missing)}")

    # 7. Sequence layers on (steps, features) sequences: every recurrent cell, one and two
    # directions, both merges, whole sequences and last steps; the 1-D convolution and pools.
    sequences = rng.normal(size=(60, 7, 3)).astype(np.float32)
    labels = (sequences[:, :, 0].sum(axis=1) > sequences[:, -1, 1] * 2).astype(np.int64)
    np.save(os.path.join(work, "seq_x.npy"), sequences)
    np.save(os.path.join(work, "seq_y.npy"), labels)
    for name, layers in {
        "lstm": """
    - {type: lstm, units: 5, return_sequences: true, bidirectional: true}
    - {type: gru, units: 4, return_sequences: true, bidirectional: true, merge: sum}
    - {type: rnn, units: 3, activation: relu}""",
        "gru": """
    - {type: gru, units: 6, bidirectional: true, layers: 3, dropout: 0.2}""",
        "conv1d": """
    - {type: conv1d, filters: 4, kernel: 3, padding: same, activation: relu}
    - {type: conv1d, filters: 4, kernel: 2, groups: 2, dilation: 2, padding: 1}
    - {type: max_pool1d, kernel: 2, padding: same}
    - {type: avg_pool1d, kernel: 2, stride: 1, padding: 1}
    - {type: gru, units: 3, return_sequences: true}
    - {type: global_avg_pool1d}""",
        "rnn": """
    - {type: rnn, units: 4, return_sequences: true, bidirectional: true, merge: sum}
    - {type: lstm, units: 4, unit_forget_bias: false}
    - {type: layer_norm}""",
    }.items():
        write(os.path.join(work, f"{name}.yaml"), f"""
seed: 2
data:
  train: {{npy: {{x: seq_x.npy, y: seq_y.npy}}}}
  validation: {{split: 0.25}}
  scale: standard
model:
  layers:{layers}
    - {{type: dense, units: 2}}
train: {{optimizer: {{name: adam, lr: 0.01}}, batch_size: 16, epochs: 3}}
output: {{dir: {name}}}
""")
        run([nntune, "train", f"{name}.yaml", "-q", "--no-report"], work)
        check(f"sequence_{name}", nntune, work, f"{name}/model.nnt", "seq_x.npy", sequences)

    # 8. Token ids through an embedding (no scaler: ids are not scaled).
    tokens = rng.integers(0, 12, size=(80, 6)).astype(np.float32)
    labels = (tokens[:, -1] > 5).astype(np.int64)
    np.save(os.path.join(work, "tok_x.npy"), tokens)
    np.save(os.path.join(work, "tok_y.npy"), labels)
    write(os.path.join(work, "tokens.yaml"), """
seed: 2
data:
  train: {npy: {x: tok_x.npy, y: tok_y.npy}}
  validation: {split: 0.25}
model:
  layers:
    - {type: embedding, vocabulary: 12, dim: 4}
    - {type: lstm, units: 5}
    - {type: dense, units: 2}
train: {optimizer: {name: adam, lr: 0.01}, batch_size: 16, epochs: 2}
output: {dir: tokens}
""")
    run([nntune, "train", "tokens.yaml", "-q", "--no-report"], work)
    check("tokens", nntune, work, "tokens/model.nnt", "tok_x.npy", tokens)

    # 8b. mask_zero: id 0 is padding that the recurrent layers skip wherever it is (before, between
    # and after the real steps, or the whole sequence), every cell, one and two directions, both
    # merges, stacks, and whole sequences (zeros at padding) feeding element-wise layers and
    # another recurrent layer under the same mask.
    steps = 7
    tokens = rng.integers(1, 12, size=(96, steps)).astype(np.float32)
    for i in range(tokens.shape[0]):
        pattern = i % 6
        if pattern == 1:    # padding at the end
            tokens[i, steps - 1 - i % 4:] = 0
        elif pattern == 2:  # padding at the start
            tokens[i, :1 + i % 3] = 0
        elif pattern == 3:  # zeros between real steps
            tokens[i, rng.choice(np.arange(1, steps - 1), size=2, replace=False)] = 0
        elif pattern == 4:  # everywhere: start, middle and end
            tokens[i, [0, 3, steps - 1]] = 0
        elif pattern == 5 and i % 4 == 1:  # no real step at all
            tokens[i] = 0
    if not (tokens == 0).all(axis=1).any():
        raise Failure("the masked token set has no sequence that is all padding")
    labels = ((tokens * (np.arange(steps) % 2)).sum(axis=1) > (tokens * (1 - np.arange(steps) % 2)).sum(axis=1))
    np.save(os.path.join(work, "mtok_x.npy"), tokens)
    np.save(os.path.join(work, "mtok_y.npy"), labels.astype(np.int64))
    for name, layers in {
        "lstm": """
    - {type: lstm, units: 5}""",
        "gru_concat": """
    - {type: gru, units: 4, return_sequences: true, bidirectional: true}
    - {type: lstm, units: 3}""",
        "rnn_sum": """
    - {type: rnn, units: 4, activation: relu, return_sequences: true, bidirectional: true, merge: sum}
    - {type: tanh}
    - {type: layer_norm}
    - {type: gru, units: 3, layers: 2, dropout: 0.1}""",
        "stacks": """
    - {type: lstm, units: 4, layers: 2, bidirectional: true, return_sequences: true}
    - {type: dropout, rate: 0.1}
    - {type: rnn, units: 3, bidirectional: true}""",
        "gru_sum": """
    - {type: gru, units: 4, bidirectional: true, merge: sum}""",
    }.items():
        write(os.path.join(work, f"masked_{name}.yaml"), f"""
seed: 4
data:
  train: {{npy: {{x: mtok_x.npy, y: mtok_y.npy}}}}
  validation: {{split: 0.25}}
model:
  layers:
    - {{type: embedding, vocabulary: 12, dim: 3, mask_zero: true}}{layers}
    - {{type: dense, units: 2}}
train: {{optimizer: {{name: adam, lr: 0.02}}, batch_size: 16, epochs: 3}}
output: {{dir: masked_{name}}}
""")
        run([nntune, "train", f"masked_{name}.yaml", "-q", "--no-report"], work)
        model = check(f"masked_{name}", nntune, work, f"masked_{name}/model.nnt", "mtok_x.npy", tokens)
        if not {"TopK", "GatherElements"} <= {n.op_type for n in model.graph.node}:
            raise Failure(f"masked_{name}: the graph does not gather the real steps")

    # 8c. One prediction per step: a recurrent layer's whole sequence into dense layers applied per
    # step (MatMul over (batch, steps, features), Add), the softmax link per step, with and without
    # mask_zero (padding before, between and after real steps, whole rows of padding). nntune
    # predict writes one row per real step (sample, step); the graph gives every step.
    step_labels = (tokens > np.roll(tokens, 1, axis=1)).astype(np.int64)
    np.save(os.path.join(work, "steps_y.npy"), step_labels)
    np.save(os.path.join(work, "steps_v.npy"), (tokens / 10.0 - 0.3)[:, :, None].astype(np.float32))
    for name, (mask_zero, labels_file, loss, head) in {
        "masked_lstm": ("true", "steps_y.npy", "categorical_crossentropy", """
    - {type: lstm, units: 5, return_sequences: true, bidirectional: true}
    - {type: dense, units: 4, activation: tanh}
    - {type: dense, units: 2}"""),
        "gru": ("false", "steps_y.npy", "categorical_crossentropy", """
    - {type: gru, units: 4, return_sequences: true}
    - {type: dense, units: 2, use_bias: false}"""),
        "masked_regression": ("true", "steps_v.npy", "mse", """
    - {type: lstm, units: 4, return_sequences: true}
    - {type: dense, units: 1}"""),
    }.items():
        write(os.path.join(work, f"steps_{name}.yaml"), f"""
seed: 5
data:
  task: {"regression" if loss == "mse" else "classification"}
  train: {{npy: {{x: mtok_x.npy, y: {labels_file}}}}}
  validation: {{split: 0.25}}
model:
  layers:
    - {{type: embedding, vocabulary: 12, dim: 3, mask_zero: {mask_zero}}}{head}
train: {{loss: {loss}, optimizer: {{name: adam, lr: 0.02}}, batch_size: 16, epochs: 2}}
output: {{dir: steps_{name}}}
""")
        run([nntune, "train", f"steps_{name}.yaml", "-q", "--no-report"], work)
        run([nntune, "export", f"steps_{name}/model.nnt", "-o", f"steps_{name}.onnx"], work)
        model = onnx.load(os.path.join(work, f"steps_{name}.onnx"))
        onnx.checker.check_model(model, full_check=True)
        if "MatMul" not in {n.op_type for n in model.graph.node}:
            raise Failure(f"steps_{name}: the graph has no MatMul for the dense layer per step")
        run([nntune, "predict", f"steps_{name}/model.nnt", "mtok_x.npy", "-o", "steps.csv"], work)
        with open(os.path.join(work, "steps.csv")) as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        values = [i for i, column in enumerate(header) if column not in ("sample", "step", "class")]
        got = evaluate(model, tokens)  # (samples, steps, outputs)
        if got.shape[:2] != tokens.shape:
            raise Failure(f"steps_{name}: the ONNX graph gives shape {got.shape} for tokens {tokens.shape}")
        # The rows nntune writes: every step, or the real ones (token != 0) under the mask.
        real = tokens != 0 if mask_zero == "true" else np.ones(tokens.shape, dtype=bool)
        if [(int(r[0]), int(r[1])) for r in body] != [tuple(ix) for ix in np.argwhere(real)]:
            raise Failure(f"steps_{name}: nntune predict's rows are not the real steps in order")
        worst = 0.0
        for r in body:
            expected = np.array([float(r[i]) for i in values])
            worst = max(worst, float((np.abs(got[int(r[0]), int(r[1])] - expected) / np.maximum(1.0, np.abs(expected))).max()))
        print(f"steps_{name}: {len(body)} steps of {tokens.shape[0]} sequences, {len(model.graph.node)} nodes, "
              f"largest difference {worst:.2e}")
        if not worst <= 1e-6:
            raise Failure(f"steps_{name}: the ONNX graph differs from nntune predict by {worst:.3e} (> 1e-6)")

    # 9. A table with missing cells: imputation and missing indicators folded into the graph, which
    # takes the raw columns (NaN for a missing cell); a text column is refused by name.
    flowers = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data", "flowers.csv")
    write(os.path.join(work, "flowers.yaml"), f"""
seed: 3
data:
  train: {{csv: {{path: {flowers}, label: species, drop: [plant_id, bed, note]}}}}
  validation: {{split: 0.2}}
  impute: mean
  missing_indicator: true
  scale: standard
model: {{hidden: [8]}}
train: {{optimizer: {{name: adam, lr: 0.01}}, batch_size: 16, epochs: 5}}
output: {{dir: flowers}}
""")
    run([nntune, "train", "flowers.yaml", "-q", "--no-report"], work)
    with open(flowers) as f:
        rows = list(csv.DictReader(f))
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    x = np.array([[float(r[c]) if r[c] not in ("", "NA") else np.nan for c in columns] for r in rows])
    if not np.isnan(x).any():
        raise Failure("flowers.csv has no missing cell to impute")
    model = check("flowers_imputed", nntune, work, "flowers/model.nnt", flowers, x)
    if not {"IsNaN", "Where", "Concat"} <= {n.op_type for n in model.graph.node}:
        raise Failure("flowers_imputed: the graph does not impute")
    # The text column 'bed' (with missing cells) one-hot encoded in the graph from a string input;
    # an unseen category encodes as zeros (on_unknown: zeros) or fails (error).
    for unknown in ("zeros", "error"):
        write(os.path.join(work, f"flowers_text_{unknown}.yaml"), f"""
seed: 3
data:
  train: {{csv: {{path: {flowers}, label: species, drop: [plant_id, note]}}}}
  impute: most_frequent
  missing_indicator: true
  on_unknown: {unknown}
model: {{hidden: [6]}}
train: {{epochs: 3}}
output: {{dir: flowers_text_{unknown}}}
""")
        run([nntune, "train", f"flowers_text_{unknown}.yaml", "-q", "--no-report"], work)
    text = np.array([[r["bed"]] for r in rows], dtype=object)
    if not any(t[0] in ("", "NA") for t in text):
        raise Failure("flowers.csv has no missing bed to impute")
    model = check("flowers_text", nntune, work, "flowers_text_zeros/model.nnt", flowers, x, text)
    if "OneHotEncoder" not in {n.op_type for n in model.graph.node} or model.graph.input[1].name != "text_input":
        raise Failure("flowers_text: the graph does not one-hot encode its text input")
    # A bed nntune never saw: all zeros in both.
    unseen = os.path.join(work, "flowers_unseen.csv")
    with open(flowers) as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    bed = header.index("bed")
    changed = [lines[0]] + [",".join(c if i != bed else "greenhouse" for i, c in enumerate(l.split(",")))
                            if k % 3 == 0 and '"' not in l else l for k, l in enumerate(lines[1:])]
    write(unseen, "\n".join(changed) + "\n")
    with open(unseen) as f:
        unseen_rows = list(csv.DictReader(f))
    check("flowers_text_unseen", nntune, work, "flowers_text_zeros/model.nnt", unseen,
          np.array([[float(r[c]) if r[c] not in ("", "NA") else np.nan for c in columns] for r in unseen_rows]),
          np.array([[r["bed"]] for r in unseen_rows], dtype=object))
    run([nntune, "export", "flowers_text_error/model.nnt", "-o", "strict.onnx"], work)
    strict = onnx.load(os.path.join(work, "strict.onnx"))
    onnx.checker.check_model(strict, full_check=True)
    try:
        evaluate(strict, x[:3], np.array([["greenhouse"]] * 3, dtype=object))
        raise Failure("flowers_text_error: an unseen category did not fail the graph")
    except AssertionError:
        pass

    # 10. Series models: the forecast transform around the network (column scaling, per-window
    # normalisation, delta target, linear skip path), against nntune predict's long-format
    # forecasts on every window of the file.
    with open(os.path.join(work, "series.csv"), "w") as f:
        f.write("t,a,b\n")
        for i in range(120):
            f.write(f"{i},{math.sin(i / 5) + i * 0.05:.4f},{math.cos(i / 7) * 3 + 10:.4f}\n")
    series = np.array([[float(v) for v in line.split(",")[1:]] for line in open(os.path.join(work, "series.csv")).read().split()[1:]])
    window, horizon = 6, 2
    for name, forecast in {"delta_last_skip": "{target: delta, normalize: last, skip: linear}",
                           "value_mean": "{target: value, normalize: mean}",
                           "value_skip": "{skip: linear}"}.items():
        write(os.path.join(work, f"series_{name}.yaml"), f"""
seed: 1
data:
  train: {{series: {{path: series.csv, time: t, values: [a, b], targets: [a, b], window: {window}, horizon: {horizon}}}}}
  validation: {{last: 0.2}}
  scale: standard
model:
  layers: [{{type: gru, units: 4}}, {{type: dense, units: {2 * horizon}}}]
  forecast: {forecast}
train: {{epochs: 3}}
output: {{dir: series_{name}}}
""")
        run([nntune, "train", f"series_{name}.yaml", "-q", "--no-report"], work)
        run([nntune, "export", f"series_{name}/model.nnt", "-o", f"series_{name}.onnx"], work)
        model = onnx.load(os.path.join(work, f"series_{name}.onnx"))
        onnx.checker.check_model(model, full_check=True)
        run([nntune, "predict", f"series_{name}/model.nnt", "series.csv", "-o", "forecast.csv"], work)
        with open(os.path.join(work, "forecast.csv")) as f:
            rows = list(csv.DictReader(f))
        origins = sorted({int(r["origin"]) for r in rows})
        x = np.stack([series[o - window + 1:o + 1] for o in origins])
        got = evaluate(model, x)  # (windows, horizon * targets): step-major, targets within
        worst = 0.0
        for r in rows:
            i, step = origins.index(int(r["origin"])), int(r["step"])
            for k, target in enumerate(("a", "b")):
                expected = float(r[target])
                worst = max(worst, abs(got[i, (step - 1) * 2 + k] - expected) / max(1.0, abs(expected)))
        print(f"series_{name}: {len(origins)} windows, {len(model.graph.node)} nodes, largest difference {worst:.2e}")
        if not worst <= TOLERANCE:
            raise Failure(f"series_{name}: the ONNX graph differs from nntune predict by {worst:.3e} (> {TOLERANCE})")

    # 11. Bad input: a file that is not a model, a model file that does not exist.
    write(os.path.join(work, "not_a_model.nnt"), "hello")
    err = run([nntune, "export", "not_a_model.nnt", "-o", "x.onnx"], work, expect=1).stderr
    if "is not an nntune model" not in err or os.path.exists(os.path.join(work, "x.onnx")):
        raise Failure(f"export of a non-model: {err}")
    err = run([nntune, "export", "every_layer/model.nnt"], work, expect=2).stderr
    if "--output" not in err:
        raise Failure(f"export without -o: {err}")
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAILED: {e}")
        sys.exit(1)
