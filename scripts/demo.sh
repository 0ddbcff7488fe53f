#!/usr/bin/env bash
# The whole lifecycle on generated data, in its own folder and MLflow store.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${1:-demo}
mkdir -p "$DEMO"
cd "$DEMO"
DEMO_DIR=$(pwd)
export MLFLOW_TRACKING_URI="sqlite:///$DEMO_DIR/mlflow.db"
export ATTRITION_PREDICTION_STORE_URL="sqlite:///$DEMO_DIR/predictions.db"
ATT="$ROOT/.venv/bin/attrition"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Generate 3,000 synthetic employees"
"$ATT" data generate --rows 3000 --seed 7 --out employees.csv

step "2. Validate the extract"
"$ATT" data validate employees.csv

step "3. Train, evaluate and register a model version"
"$ATT" train --data employees.csv --trials 20 --experiment attrition-demo

step "What to open"
cat <<TXT
MLflow UI (runs, artifacts, versions, aliases):
  MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI $ATT ui --port 5001
  then open http://127.0.0.1:5001
TXT
