"""The feature schema: standardised numbers, one-hot categories, and what it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from formulations.errors import InstanceError
from formulations.experiment_data import FeatureTable
from learners.features import CategoricalFeature, FeatureSchema, NumericFeature


def table(df: pd.DataFrame) -> FeatureTable:
    return FeatureTable(name="t", unit_ids=np.arange(len(df)), features=df, source="t.csv")


TRAIN = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "city": ["b", "a", "b", "c"],
                      "flag": [True, False, True, True], "const": [1.0] * 4})


def test_encoding_matches_standardised_dummies() -> None:
    schema = FeatureSchema.fit(TRAIN)
    assert schema.columns[0] == NumericFeature("age", 35.0, float(np.std([20, 30, 40, 50])))
    assert schema.columns[1] == CategoricalFeature("city", ("a", "b", "c"))
    assert schema.width == 1 + 3 + 1 + 1
    x = schema.encode(table(TRAIN))
    assert x.dtype == np.float32
    ref = pd.get_dummies(TRAIN[["city"]], dtype=float).to_numpy()
    assert np.allclose(x[:, 1:4], ref)
    age = TRAIN["age"].to_numpy()
    assert np.allclose(x[:, 0], (age - age.mean()) / age.std())
    assert np.allclose(x[:, 4], (TRAIN.flag - TRAIN.flag.mean()) / TRAIN.flag.std(ddof=0))
    assert np.all(x[:, 5] == 0.0)  # a constant column keeps scale 1
    assert schema.encoded_names == ("age", "city=a", "city=b", "city=c", "flag", "const")


def test_round_trip_through_dict() -> None:
    schema = FeatureSchema.fit(TRAIN)
    again = FeatureSchema.from_dict(schema.to_dict())
    assert again == schema
    assert np.array_equal(again.encode(table(TRAIN)), schema.encode(table(TRAIN)))


def test_refuses_unseen_category_missing_column_and_text() -> None:
    schema = FeatureSchema.fit(TRAIN)
    new = TRAIN.assign(city=["a", "a", "z", "b"])
    with pytest.raises(InstanceError, match=r"t.csv: row 3, column 'city': category 'z' was not"):
        schema.encode(table(new))
    with pytest.raises(InstanceError, match=r"column 'age': feature missing"):
        schema.encode(table(TRAIN.drop(columns="age")))
    with pytest.raises(InstanceError, match=r"row 2, column 'age': expected a number"):
        schema.encode(table(TRAIN.assign(age=["1", "x", "3", "4"])))


def test_column_order_of_new_data_does_not_matter() -> None:
    schema = FeatureSchema.fit(TRAIN)
    shuffled = TRAIN[["const", "flag", "city", "age"]]
    assert np.array_equal(schema.encode(table(shuffled)), schema.encode(table(TRAIN)))
