#!/usr/bin/env python3
"""Writes flowers.csv and flowers_holdout.csv: the 150 irises of Fisher's data (from Debian's
scikit-learn copy) as a field table people really keep: an id per plant, the species by name,
a categorical column (the garden bed it grew in), a few cells left empty or marked NA, and a
quoted free-text note. Deterministic: the same files on every run.

    python3 examples/data/make_flowers.py
"""
import csv
import os
import random

SOURCE = "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv"
HERE = os.path.dirname(os.path.abspath(__file__))
SPECIES = ["setosa", "versicolor", "virginica"]
# Beds lean towards a species (so the column carries some signal) without giving it away.
BEDS = {"setosa": ["north", "north", "east", "shade"], "versicolor": ["east", "south", "south", "north"],
        "virginica": ["south", "shade", "shade", "east"]}
NOTES = ["", "", "", "", "leaves spotted", "re-measured, see log", "near the path; \"trampled\"", "tall, windy"]


def main():
    rng = random.Random(15)
    with open(SOURCE) as f:
        rows = list(csv.reader(f))[1:]
    order = list(range(len(rows)))
    rng.shuffle(order)
    header = ["plant_id", "sepal_length", "sepal_width", "petal_length", "petal_width", "bed", "note", "species"]
    table = []
    for number, i in enumerate(order):
        values = rows[i][:4]
        species = SPECIES[int(rows[i][4])]
        bed = rng.choice(BEDS[species])
        # About one row in twelve has a measurement missing, written as spreadsheets do.
        if rng.random() < 1 / 12:
            values[rng.randrange(4)] = rng.choice(["", "NA"])
        if rng.random() < 1 / 40:
            bed = ""
        table.append([f"P{number + 1:03d}"] + values + [bed, rng.choice(NOTES), species])
    for name, part in (("flowers.csv", table[:130]), ("flowers_holdout.csv", table[130:])):
        with open(os.path.join(HERE, name), "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(part)


if __name__ == "__main__":
    main()
