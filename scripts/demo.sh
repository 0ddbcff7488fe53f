#!/usr/bin/env bash
# The whole lifecycle on generated data, in its own folder and MLflow store.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${1:-demo}
rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"
DEMO_DIR=$(pwd)
export MLFLOW_TRACKING_URI="sqlite:///$DEMO_DIR/mlflow.db"
export ATTRITION_PREDICTION_STORE_URL="sqlite:///$DEMO_DIR/predictions.db"
export PATH="$ROOT/.venv/bin:$PATH"
MODEL=employee_attrition_model
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Generate 3,000 synthetic employees"
attrition data generate --rows 3000 --seed 7 --out employees.csv

step "2. Validate the extract"
attrition data validate employees.csv

# Retention outreach helps the person flagged: the assistive fairness policy gates equal
# opportunity and within-group calibration (README, "Fairness policies").
POLICY=assistive

step "3. Train, evaluate and register a model version under the $POLICY fairness policy"
attrition train --data employees.csv --trials 20 --experiment attrition-demo --fairness-policy $POLICY

step "4. Quality gates for Staging (performance, fairness, data quality, documentation)"
# A gate whose 95% interval crosses its bar is inconclusive: it allows Staging and needs a
# named sign-off before Production. A failing gate refuses the transition and stops the demo.
attrition models transition-stage --model-name $MODEL --version 1 --stage Staging --fairness-policy $POLICY

step "5. Staging review: read the report, sign off each inconclusive gate by name, approve"
attrition review --version 1 --fairness-policy $POLICY --out review_report.html
INCONCLUSIVE=$("$ROOT/.venv/bin/python" - "$MODEL" <<'PY'
import json, sys
from mlflow.tracking import MlflowClient
tags = MlflowClient().get_model_version(sys.argv[1], "1").tags
report = json.loads(tags["attrition.gate_report.Staging"])
print(",".join(r["name"] for r in report["results"] if r.get("verdict") == "inconclusive"))
PY
)
if [ -n "$INCONCLUSIVE" ]; then
  echo "Inconclusive gates to sign off: $INCONCLUSIVE"
  attrition review --version 1 --fairness-policy $POLICY --approve \
    --accept-inconclusive "$INCONCLUSIVE" \
    --reason "demo review: each interval crosses its bar on synthetic data; gaps are monitored after release" \
    --out review_report.html
else
  attrition review --version 1 --fairness-policy $POLICY --approve \
    --reason "demo review: every gate passes" --out review_report.html
fi

step "6. Promote to Production (first deployment)"
attrition models transition-stage --model-name $MODEL --version 1 --stage Production \
  --first-deployment --fairness-policy $POLICY
attrition models describe --name $MODEL

step "7. Batch scoring with the champion, published as the HR app's population"
attrition predict --input employees.csv --output scores.csv --publish
head -4 scores.csv

step "8. Serve the champion and ask it about one employee"
PORT=${ATTRITION_DEMO_PORT:-8000}
attrition serve --port "$PORT" > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/openapi.json" | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)['components']['schemas']['EmployeeFeatures']['examples'][0]))" > employee.json
curl -s -X POST "http://127.0.0.1:$PORT/predict?explain=true" -H 'content-type: application/json' -d @employee.json
echo
curl -s -X POST "http://127.0.0.1:$PORT/counterfactuals?max_changes=2" -H 'content-type: application/json' -d @employee.json
echo
kill $SERVER 2>/dev/null || true
wait $SERVER 2>/dev/null || true

step "What to open"
cat <<TXT
Everything is in $DEMO_DIR.
MLflow UI (runs, artifacts, versions, stages, aliases):
  cd $DEMO_DIR && MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI $ROOT/.venv/bin/attrition ui --port 5001
  then open http://127.0.0.1:5001
Review report: $DEMO_DIR/review_report.html
Batch scores:  $DEMO_DIR/scores.csv

Prediction API (serves @champion; docs on /docs):
  cd $DEMO_DIR && MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI ATTRITION_PREDICTION_STORE_URL=$ATTRITION_PREDICTION_STORE_URL $ROOT/.venv/bin/attrition serve --port 8000
and in another terminal:
  curl -s -X POST 'http://127.0.0.1:8000/predict?explain=true' -H 'content-type: application/json' -d @$DEMO_DIR/employee.json

Addresses once it runs:
  Prediction API: http://127.0.0.1:8000/docs
  HR app:         http://127.0.0.1:8000/app/   (the 3,000 scored employees published in step 7)
TXT
