"""Meeting routers where they are: LiteLLM, MLflow model serving, vLLM Semantic Router.

Each integration applies an exported policy artifact (:mod:`sleeptime.runtime`) and imports its
router's package only when used.
"""
