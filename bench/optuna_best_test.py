"""Test accuracy of the anchor's best configuration: retrains Optuna's best parameters (the
"best params" line of ../shared/anchors/optuna_fmnist.py, or of optuna_fmnist_cnn.py with
--anchor optuna_fmnist_cnn) with the anchor's own model builder and training loop settings (its
MAX_EPOCHS, validation = last 10,000 training images, the best epoch's weights kept, as the
trial's value is its best epoch) in fp32 and scores that model on the 10,000 test images. The
anchor keeps no model, and its trial's random state cannot be replayed, so each seed is a fresh
training of the same configuration.
usage: optuna_best_test.py ANCHORS_DIR "BEST_PARAMS_DICT" [--anchor MODULE] [SEEDS...]"""
import ast, copy, importlib, sys

args = sys.argv[1:]
anchor_name = "optuna_fmnist"
if "--anchor" in args:
    i = args.index("--anchor"); anchor_name = args[i + 1]; del args[i:i + 2]
anchors, params, seeds = args[0], ast.literal_eval(args[1]), [int(s) for s in args[2:]] or [0]
sys.path.insert(0, anchors)
sys.argv = [anchor_name + ".py", "0", "1", "1"]  # the anchor reads its budget at import
import optuna, torch  # noqa: E402
anchor = importlib.import_module(anchor_name)


def accuracy(model, x, y):
    # Batches of 1,000 as the anchor scores, so a CNN's activations stay small.
    with torch.no_grad():
        return sum((model(x[j:j + 1000]).argmax(1) == y[j:j + 1000]).sum().item() for j in range(0, len(y), 1000)) / len(y)

torch.set_num_threads(1)
xtr, ytr, xva, yva, xte, yte = anchor.data()
for seed in seeds:
    torch.manual_seed(seed)
    trial = optuna.trial.FixedTrial(params)
    model = anchor.build(trial)
    lr, wd, name = params["lr"], params["weight_decay"], params["optimizer"]
    if name == "sgd": opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=params["momentum"], weight_decay=wd)
    elif name == "adam": opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    else: opt = torch.optim.RMSprop(model.parameters(), lr=lr, weight_decay=wd)
    bs, lossf, n = params["batch_size"], torch.nn.CrossEntropyLoss(), xtr.shape[0]
    best, best_state = -1.0, None
    for ep in range(anchor.MAX_EPOCHS):
        model.train(); perm = torch.randperm(n)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]; opt.zero_grad(set_to_none=True)
            lossf(model(xtr[idx]), ytr[idx]).backward(); opt.step()
        model.eval()
        acc = accuracy(model, xva, yva)
        if acc > best: best, best_state = acc, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    test = accuracy(model, xte, yte)
    print(f"seed {seed}: best val acc {best:.4f} test acc {test:.4f}")
