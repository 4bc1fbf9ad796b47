"""The parameter and attribute documentation both estimators share (one home for it)."""

from __future__ import annotations

__all__ = ["ATTRIBUTES", "PARAMETERS"]

PARAMETERS = """\
    top
        Suggestions of :func:`metaopt.suggest` to cross-validate (the best of them is
        refitted).
    cv
        Cross-validation folds (stratified for classification; fewer when a class has
        fewer rows, and none on data too small to split, where the first suggestion
        is refitted unscored). At most 10,000 rows (a stratified subsample) are
        cross-validated; the refit uses every row.
    scoring
        A scikit-learn scorer name (``sklearn.metrics.get_scorer_names()``; greater is
        better). ``None``: the knowledge base's metric for the task's kind (ROC-AUC for
        binary, balanced accuracy for multiclass, R² for regression).
    algorithms
        Only these algorithms (names of :data:`metaopt.spaces.ALGORITHMS`); ``None``:
        every one the models know.
    n_trials
        Configurations proposed by the learned sampler
        (:class:`metaopt.integrations.optuna.MetaSampler`, which starts from the
        suggestions' scores) and cross-validated after the suggestions; needs optuna.
        ``None``: with a ``time_budget``, the sampler proposes until the budget is
        spent (at most 500 trials, like FLAML's ``AutoML`` it uses the time it is
        given); without one, no trials.
    time_budget
        Seconds the search (suggest, cross-validation, tuning) may take; it ends within
        the budget plus 10 %, evaluations past it being stopped or skipped (status
        ``"timeout"`` / ``"skipped"`` in ``cv_results_``). The final refit comes on top
        and is timed separately (``refit_time_``). ``None``: no limit.
    ensemble
        With ``k >= 2``, the final model averages the ``k`` best cross-validated
        configurations (soft voting / the mean prediction) instead of the best alone.
    n_jobs
        Evaluations run in parallel (worker processes, one thread each); ``None``: 1,
        ``-1``: every CPU. MLPs are trained in batches on a GPU when torch sees one.
    random_state
        Seed of the suggestions' fresh configurations, the folds, the models and the
        sampler: a fixed integer makes ``fit`` reproducible (the same configurations,
        scores and choice, unless the time budget cuts evaluations short).
    verbose
        0: silent; 1: progress on stderr (a bar on a terminal, one line per
        evaluation otherwise) and what the loader changed in the data.
    models
        The models directory or a loaded :class:`metaopt.recommend.Recommender`
        (e.g. one fitted without the task being benchmarked); ``None``:
        ``$METAOPT_MODELS``, else the shipped ``datasets/models``.
"""

ATTRIBUTES = """\
    best_estimator_ : estimator
        The final model, fitted on every row: a scikit-learn pipeline built from
        ``best_spec_`` (or the ensemble of the best ``ensemble`` pipelines).
    best_spec_ : dict
        The best configuration's pickle-free estimator spec
        (:func:`metaopt.spaces.estimator_from_spec` rebuilds it, unfitted).
    best_params_ : dict
        ``{"algorithm": name, **params}`` of the best configuration.
    best_score_ : float
        Its mean cross-validation score (NaN when nothing was cross-validated).
    best_index_ : int
        Its row in ``cv_results_``.
    cv_results_ : dict of arrays
        One entry per configuration considered, like ``GridSearchCV.cv_results_``:
        ``algorithm``, ``params``, ``config_id``, ``source`` (``"suggest"`` or
        ``"sampler"``), ``suggestion_rank`` (-1 for sampled ones),
        ``split{k}_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``mean_fit_time`` (seconds per fold), ``status``
        (``ok | timeout | error | skipped``) and ``message``.
    suggestions_ : list of Suggestion
        What :func:`metaopt.suggest` recommended for the data (scores, evidence).
    ensemble_indices_ : ndarray
        Rows of ``cv_results_`` the final model is made of.
    metric_ : str
        The scorer of the scores.
    n_splits_ : int
        Folds used (0: the data was too small to cross-validate).
    search_time_, refit_time_ : float
        Seconds spent searching (within ``time_budget``) and refitting.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Their names, when ``X`` was a DataFrame with string column names.
"""
