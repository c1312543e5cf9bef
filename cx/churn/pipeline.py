"""The churn classifier: one robust tabular pipeline used by both ``cxdesk eval churn`` (IBM Telco columns) and
the in-product model (features computed from the instance's own data).

Numeric columns: missing values imputed with the training median (plus a "was missing" indicator) and
standardised; categorical columns: one-hot encoded, unknown categories at prediction time ignored. Two models
learn from the same matrix — an L2 logistic regression (with spline terms for the numeric columns, so monotone
but non-linear effects such as tenure are caught) and a small, regularised histogram gradient-boosting model
(interactions) — and their probabilities are averaged. The average is calibrated with cross-validation inside
the training data only (isotonic with enough rows, Platt scaling otherwise), so a 0.7 means about 70 %.

Also here: per-row signed contributions (how much each feature moves this row's calibrated probability
compared with a typical value of that feature) — the "top reasons" shown on the customer page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from cx.churn.schema import Schema

SEED = 42
MIN_ROWS = 30  # fewer rows than this cannot be trained and cross-validated meaningfully
MIN_PER_CLASS = 5
# One thread: the machine is shared and gradient boosting's OpenMP threads only fight each other there.
THREADS = 1


class TooLittleData(ValueError):
    """The training data cannot support a model; the message says what is missing."""


def as_float(X):
    return np.asarray(X, dtype=float)


def as_text(X):
    return np.asarray(X, dtype=object).astype(str)


def _numeric_part(*, splines: bool):
    steps = [FunctionTransformer(as_float, feature_names_out="one-to-one"),
             SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)]
    if splines:
        steps.append(SplineTransformer(n_knots=5, degree=3, extrapolation="constant"))
    steps.append(StandardScaler())
    return make_pipeline(*steps)


def _preprocess(schema: Schema, *, splines: bool) -> ColumnTransformer:
    n_num = len(schema.numeric)
    parts = []
    if n_num:
        parts.append(("num", _numeric_part(splines=False), list(range(n_num))))
        if splines:
            parts.append(("spl", _numeric_part(splines=True), list(range(n_num))))
    if schema.categorical:
        parts.append(("cat", make_pipeline(
            FunctionTransformer(as_text, feature_names_out="one-to-one"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)),
                      list(range(n_num, n_num + len(schema.categorical)))))
    return ColumnTransformer(parts)


class ChurnEnsemble(ClassifierMixin, BaseEstimator):
    """Mean of a spline logistic regression and a regularised gradient-boosting model (uncalibrated)."""

    def __init__(self, numeric: tuple[str, ...] = (), categorical: tuple[str, ...] = ()):
        self.numeric = numeric
        self.categorical = categorical

    def fit(self, X, y):
        schema = Schema(tuple(self.numeric), tuple(self.categorical))
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.linear_ = make_pipeline(_preprocess(schema, splines=True),
                                     LogisticRegression(C=0.3, max_iter=5000)).fit(X, y)
        self.boosted_ = make_pipeline(_preprocess(schema, splines=False), HistGradientBoostingClassifier(
            learning_rate=0.03, max_iter=400, max_leaf_nodes=6, min_samples_leaf=min(50, max(5, len(y) // 20)),
            l2_regularization=1.0, random_state=SEED)).fit(X, y)
        return self

    def predict_proba(self, X):
        p = (self.linear_.predict_proba(X)[:, 1] + self.boosted_.predict_proba(X)[:, 1]) / 2
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def check_trainable(y: Sequence[int]) -> None:
    y = np.asarray(y).astype(int)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if len(y) < MIN_ROWS or positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        raise TooLittleData(
            f"Too little data to train a churn model: {len(y)} customers ({positives} churned, {negatives} stayed). "
            f"At least {MIN_ROWS} customers with at least {MIN_PER_CLASS} who churned and {MIN_PER_CLASS} who "
            f"stayed are needed.")


def _folds(y: np.ndarray) -> int:
    return int(max(2, min(5, y.sum(), len(y) - y.sum())))


class CalibratedChurnModel(ClassifierMixin, BaseEstimator):
    """The ensemble calibrated by cross-validation on the rows it is given (folds fitted to the class sizes)."""

    def __init__(self, numeric: tuple[str, ...] = (), categorical: tuple[str, ...] = ()):
        self.numeric = numeric
        self.categorical = categorical

    def fit(self, X, y):
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        method = "isotonic" if len(y) >= 1000 else "sigmoid"
        folds = StratifiedKFold(n_splits=_folds(y), shuffle=True, random_state=SEED)
        self.calibrated_ = CalibratedClassifierCV(ChurnEnsemble(self.numeric, self.categorical), method=method,
                                                  cv=folds, ensemble=True).fit(X, y)
        return self

    def predict_proba(self, X):
        return self.calibrated_.predict_proba(X)

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def build_model(schema: Schema) -> CalibratedChurnModel:
    return CalibratedChurnModel(schema.numeric, schema.categorical)


@dataclass
class Fitted:
    model: CalibratedChurnModel
    schema: Schema
    reference: list  # one typical value per column (median / most frequent): the "what if" baseline of reasons
    cv_auc: float | None

    def predict(self, X) -> np.ndarray:
        with threadpool_limits(limits=THREADS):
            return self.model.predict_proba(np.asarray(X, dtype=object))[:, 1]

    def contributions(self, X) -> np.ndarray:
        """Signed effect of each column on each row's probability: p(row) - p(row with that column typical)."""
        X = np.asarray(X, dtype=object)
        base = self.predict(X)
        effects = np.zeros((len(X), len(self.schema.columns)))
        for j, typical in enumerate(self.reference):
            changed = X.copy()
            changed[:, j] = typical
            effects[:, j] = base - self.predict(changed)
        return effects


def _reference(X: np.ndarray, schema: Schema) -> list:
    out: list = []
    for j, _ in enumerate(schema.columns):
        column = X[:, j]
        if j < len(schema.numeric):
            values = np.array([v for v in column if v is not None and not _isnan(v)], dtype=float)
            out.append(float(np.median(values)) if len(values) else np.nan)
        else:
            labels, counts = np.unique(column.astype(str), return_counts=True)
            out.append(str(labels[np.argmax(counts)]))
    return out


def _isnan(value) -> bool:
    try:
        return bool(np.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def fit(X, y, schema: Schema, *, cross_validate: bool = True) -> Fitted:
    """Train on an object matrix (numeric columns first, then categorical) and 0/1 labels.

    ``cv_auc`` is the out-of-fold ROC-AUC of the whole pipeline (calibration included) on the training rows.
    """
    X = np.asarray(X, dtype=object)
    y = np.asarray(y).astype(int)
    check_trainable(y)
    with threadpool_limits(limits=THREADS):
        return _fit(X, y, schema, cross_validate=cross_validate)


def _fit(X: np.ndarray, y: np.ndarray, schema: Schema, *, cross_validate: bool) -> Fitted:
    cv_auc = None
    if cross_validate:
        folds = StratifiedKFold(n_splits=_folds(y), shuffle=True, random_state=SEED)
        oof = cross_val_predict(build_model(schema), X, y, cv=folds, method="predict_proba")[:, 1]
        cv_auc = float(roc_auc_score(y, oof))
    model = clone(build_model(schema)).fit(X, y)
    return Fitted(model=model, schema=schema, reference=_reference(X, schema), cv_auc=cv_auc)
