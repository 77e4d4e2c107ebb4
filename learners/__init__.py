"""Parameter providers: models that predict every (unit, arm) outcome and cost (docs/learners.md).

Importing this package imports no torch; the modules that need it import it when used.

Data and truth:
    features (the feature schema), tensors (experiment data as float32 tensors), simulate (a
    campaign with known potential outcomes), datasets (real public RCTs), propensity (estimated
    propensities of observational logs), known_costs (costs a model does not learn).
Providers:
    provider (the ParameterProvider Protocol, incremental instances, the engine's policy),
    networks, two_stage (TSM-SL, T-learner), sklearn_adapter, dhcl, decision_focused (DFCL),
    methods (fit by name), saved (model folders), instance_writer (predict at any size).
Training:
    training (the loop), validation (EOM model selection), oracle (λ* and the argmax from the
    engine), losses (one nn.Module per loss), tuning (the benchmarks' shared tuning budget),
    training_log.
Evaluation of fitted models:
    comparison (what ``treatalloc evaluate`` reports).
"""
