#!/usr/bin/env python3
"""One worker process of the storage benchmark's Optuna anchor (bench/run_storage_bench.sh):
the same cheap objective and random sampler as bench/storage_bench.cpp, on Optuna's RDBStorage,
until the study holds N trials (MaxTrialsCallback counts every worker's trials).
    optuna_storage_bench.py URL STUDY N SEED
    optuna_storage_bench.py URL STUDY --create
"""
import sys

import optuna
from optuna.study import MaxTrialsCallback


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    return (x - 1) ** 2 + (y + 2) ** 2


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, name, count = sys.argv[1], sys.argv[2], sys.argv[3]
    storage = optuna.storages.RDBStorage(url)
    if count == "--create":
        optuna.create_study(storage=storage, study_name=name, direction="minimize")
        return
    sampler = optuna.samplers.RandomSampler(seed=int(sys.argv[4]))
    study = optuna.load_study(storage=storage, study_name=name, sampler=sampler)
    study.optimize(objective, callbacks=[MaxTrialsCallback(int(count), states=None)])


if __name__ == "__main__":
    main()
