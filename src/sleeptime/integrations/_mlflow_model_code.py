"""The code MLflow runs to build the pyfunc model (models from code: nothing is pickled)."""

import mlflow

from sleeptime.integrations.mlflow_model import PolicyPyfunc

mlflow.models.set_model(PolicyPyfunc())
