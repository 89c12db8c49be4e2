"""Test accuracy of the anchor's best configuration: retrains Optuna's best parameters (the
"best params" line of ../shared/anchors/optuna_fmnist.py) with the anchor's own model builder and
training loop settings (10 epochs, validation = last 10,000 training images, the best epoch's
weights kept, as the trial's value is its best epoch) and scores that model on the 10,000 test
images. The anchor keeps no model, and its trial's random state cannot be replayed, so each seed
is a fresh training of the same configuration.
usage: optuna_best_test.py ANCHORS_DIR "BEST_PARAMS_DICT" [SEEDS...]"""
import ast, copy, sys

anchors, params, seeds = sys.argv[1], ast.literal_eval(sys.argv[2]), [int(s) for s in sys.argv[3:]] or [0]
sys.path.insert(0, anchors)
sys.argv = ["optuna_fmnist.py", "0", "1", "1"]  # the anchor reads its budget at import
import optuna, torch  # noqa: E402
import optuna_fmnist as anchor  # noqa: E402

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
        with torch.no_grad(): acc = (model(xva).argmax(1) == yva).float().mean().item()
        if acc > best: best, best_state = acc, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    with torch.no_grad(): test = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"seed {seed}: best val acc {best:.4f} test acc {test:.4f}")
