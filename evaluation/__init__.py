"""Policy value on randomised data and A/B-test analysis; works on plain numpy arrays.

Learner evaluation (docs/evaluation.md): :mod:`evaluation.lambda_path` (the λ path of the
Lagrangian policy of predictions and step functions along it), :mod:`evaluation.eom_curve` (EOM
at matched spend over budgets, paired bootstrap, the simulator's matched true spend),
:mod:`evaluation.aucc`, :mod:`evaluation.uplift_curves`, :mod:`evaluation.prediction_metrics`,
:mod:`evaluation.plots` and :mod:`evaluation.experiment` (the same on ExperimentData).
"""
