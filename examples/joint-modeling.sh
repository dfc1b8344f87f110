#!/usr/bin/env bash
# Joint modeling between two partner gateways: PSI, joint statistics, a vertical logistic model and its model card
# (README "Joint modeling between partners", docs/joint-modeling.md).
#
# A car dealer (dealer-4s, the guest: it holds the label) and an insurer (insurer-a, a host: it holds features) each
# start a gateway on loopback and load their half of the FATE breast split (datasets/fate, 569 customers, a vertical
# split: the dealer has y and x0..x9, the insurer x0..x19 of its own). They align their customers with PSI, describe
# the insurer's columns by the dealer's segments and label without showing each other a row, train a logistic model
# together, and each reads its own part of the model from its registry.
#
#   bash examples/joint-modeling.sh             # WORK, PORT_A, PORT_B and SEALGATE_PASSPHRASE may be set
#
# Needs curl, jq, awk, gzip and the repository's own Node 24 (npm ci). `npm test` runs this script
# (test/flows/joint-modeling-walkthrough.test.ts), which also reads the files it leaves in $WORK.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# The system node may be older; the gateway needs the Node 24 pinned in package.json (native type stripping).
export PATH="$REPO/node_modules/.bin:$PATH"
WORK=${WORK:-$(mktemp -d)}
PORT_A=${PORT_A:-8083}
PORT_B=${PORT_B:-8084}
# Seals each gateway's party keys. A development value: never use it for a real deployment.
export SEALGATE_PASSPHRASE=${SEALGATE_PASSPHRASE:-walkthrough-dev-only-passphrase}

DEALER=dealer-4s
INSURER=insurer-a
A=http://127.0.0.1:$PORT_A   # the dealer's gateway (guest)
B=http://127.0.0.1:$PORT_B   # the insurer's gateway (host)
PURPOSE=joint-modeling-clv
PARTIES='["dealer-4s","insurer-a"]'
START_DEADLINE_S=60
# Every column each party loads, and so every field its purpose, delegation and consents allow.
FIELDS_A='["id","vin","segment","y","x0","x1","x2","x3","x4","x5","x6","x7","x8","x9"]'
FIELDS_B=$(jq -nc '["id","vin"] + [range(20) | "x\(.)"]')

step() { printf '\n== %s\n' "$*"; }
fail() { echo "error: $*" >&2; exit 1; }

for tool in curl jq awk gzip; do command -v "$tool" >/dev/null || fail "$tool is required"; done
[[ $(node --version 2>/dev/null) == v24.* ]] || fail "Node 24 not found in $REPO/node_modules/.bin: run 'npx -y -p node@24 npm ci' first"
mkdir -p "$WORK"

# api METHOD URL TOKEN [curl args...]: prints the JSON answer. Any answer but 2xx stops the walkthrough and shows
# the problem document (RFC 9457: a stable code, never a secret). Every call has a deadline.
api() {
  local method=$1 url=$2 token=$3 out status
  shift 3
  out=$(curl -sS --max-time 20 -X "$method" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -w '\n%{http_code}' "$@" "$url") || { echo "error: $method $url: no answer" >&2; return 1; }
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ $status == 2* ]] || { echo "error: $method $url answered $status: $out" >&2; return 1; }
  printf '%s\n' "$out"
}

# ---------------------------------------------------------------------------------------------------------------
step "1. Start two gateways (work dir $WORK)"
PIDS=()
stop_gateways() {
  local pid deadline
  # SIGTERM lets a gateway finish in-flight requests and close its database; SIGKILL only if it does not stop.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 15))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  local rc=$?
  stop_gateways
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_gateway() { # PARTY PORT
  mkdir -p "$WORK/$1"
  # SEALGATE_LEDGER=off: anchoring on a chain is independent of this flow, and `local` would start one anvil chain
  # per gateway. The client rate limit is per address, and this script sends over a thousand calls to each gateway
  # from 127.0.0.1 within a minute (569 consents sixteen at a time, then the job watches), so the default of 300 a
  # minute is raised. The partner gateway's signed calls have their own budget (SEALGATE_PEER_RATE_LIMIT_MAX).
  PORT=$2 SEALGATE_PARTY_ID=$1 SEALGATE_DATA_DIR="$WORK/$1" SEALGATE_LEDGER=off SEALGATE_RATE_LIMIT_MAX=100000 \
    node gateway/cli/cli.ts serve >"$WORK/$1.log" 2>&1 &
  PIDS+=("$!")
}

# wait_listening PARTY PID: waits for the "listening" line, then prints the one-time admin token of the first start.
wait_listening() {
  local log="$WORK/$1.log" deadline=$((SECONDS + START_DEADLINE_S)) why
  until grep -q '^sealgate listening on' "$log"; do
    if ! kill -0 "$2" 2>/dev/null || ((SECONDS >= deadline)); then
      kill -0 "$2" 2>/dev/null && why="did not start within ${START_DEADLINE_S} s" || why="exited"
      echo "error: gateway $1 $why; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  grep -m1 '^SEALGATE_ADMIN_TOKEN=' "$log" | cut -d= -f2-
}

start_gateway "$DEALER" "$PORT_A"
start_gateway "$INSURER" "$PORT_B"
A_ADMIN=$(wait_listening "$DEALER" "${PIDS[0]}")
B_ADMIN=$(wait_listening "$INSURER" "${PIDS[1]}")
[[ -n $A_ADMIN && -n $B_ADMIN ]] || fail "no admin token printed: were the data directories used before?"
echo "dealer-4s  at $A  (pid ${PIDS[0]}, log $WORK/$DEALER.log)"
echo "insurer-a  at $B  (pid ${PIDS[1]}, log $WORK/$INSURER.log)"

# ---------------------------------------------------------------------------------------------------------------
step "2. Tokens: a data steward and a consent app (collector) at each gateway"
token() { api POST "$1/v1/tokens" "$2" -d "{\"role\":\"$3\",\"label\":\"walkthrough\"}" | jq -r .token; }
A_STEWARD=$(token "$A" "$A_ADMIN" data-steward)
A_COLLECTOR=$(token "$A" "$A_ADMIN" collector)
B_STEWARD=$(token "$B" "$B_ADMIN" data-steward)
B_COLLECTOR=$(token "$B" "$B_ADMIN" collector)
echo "issued 4 tokens (shown once, kept in this shell only)"

# ---------------------------------------------------------------------------------------------------------------
step "3. Register each gateway as the other's peer"
# The operator of each side checks the partner's public key out of band; here both are on one machine.
KEY_A=$(curl -sS --max-time 10 "$A/peer/v1/identity" | jq -r .ed25519PublicKeyHex)
KEY_B=$(curl -sS --max-time 10 "$B/peer/v1/identity" | jq -r .ed25519PublicKeyHex)
api POST "$A/v1/peers" "$A_ADMIN" -d "{\"id\":\"$INSURER\",\"baseUrl\":\"$B\",\"ed25519PublicKey\":\"$KEY_B\"}" \
  | jq -r '"dealer-4s knows \(.id) at \(.baseUrl) (\(.status))"'
api POST "$B/v1/peers" "$B_ADMIN" -d "{\"id\":\"$DEALER\",\"baseUrl\":\"$A\",\"ed25519PublicKey\":\"$KEY_A\"}" \
  | jq -r '"insurer-a knows \(.id) at \(.baseUrl) (\(.status))"'

# ---------------------------------------------------------------------------------------------------------------
step "4. The purpose '$PURPOSE' in each gateway's policy bundle"
# Each party allows `join` on its own columns only, outputs to the two parties only, and groups of at least 10
# customers (kThreshold). The insurer also sets a differential-privacy budget: the total epsilon that noisy
# statistics over its data may ever spend for this purpose (a job's `epsilon` parameter spends from it).
add_purpose() { # URL ADMIN FIELDS [EPSILON_BUDGET]
  local bundle
  bundle=$(api GET "$1/v1/policies" "$2" | jq --arg p "$PURPOSE" --argjson parties "$PARTIES" --argjson fields "$3" \
    --arg budget "${4:-}" '.bundle
    | .purposes[$p] = { description: "Joint customer lifetime value modeling", fieldAllowlist: $fields, precision: {},
                        kThreshold: 10, allowedRecipients: $parties, actions: ["join"] }
    | if $budget == "" then . else .purposes[$p].epsilonBudget = ($budget | tonumber) end')
  api PUT "$1/v1/policies" "$2" -d "$bundle" | jq -r '"policy version \(.previousVersion[0:12])… -> \(.version[0:12])…"'
}
add_purpose "$A" "$A_ADMIN" "$FIELDS_A"
add_purpose "$B" "$B_ADMIN" "$FIELDS_B" 1

# ---------------------------------------------------------------------------------------------------------------
step "5. The insurer delegates the purpose to the dealer, for its columns (signed, expiring)"
api POST "$B/v1/delegations" "$B_STEWARD" -d "{\"partner\":\"$DEALER\",\"purposes\":[\"$PURPOSE\"],
  \"fieldAllowlist\":$FIELDS_B,\"expiresAt\":\"2030-01-01T00:00:00.000Z\"}" \
  | jq -r '.delegation
    | "\(.controller) delegates \(.purposes | join(", ")) to \(.partner) for \(.fieldAllowlist | length) fields until \(.expiresAt)"'

# ---------------------------------------------------------------------------------------------------------------
step "6. Load each party's half of the FATE breast split (569 customers at each)"
# The split shares its `id` column; a VIN derived from it is the identifier both partners know and PSI aligns on.
# The dealer also gets a `segment` (a region from the id), so statistics have groups: three large ones and an
# "island" of 7 customers, fewer than the purpose's kThreshold of 10. The gateway creates <dataDir>/imports at start;
# only files under an import root can be read.
gzip -dc datasets/fate/breast_hetero_guest.csv.gz | awk -F, -v OFS=, '
  NR == 1 { $1 = "id,vin,segment"; print; next }
  { segment = ($1 % 90 == 7) ? "island" : ($1 % 3 == 0 ? "north" : ($1 % 3 == 1 ? "south" : "east"))
    $1 = $1 "," sprintf("LSV%014d", $1) "," segment; print }' >"$WORK/$DEALER/imports/customers.csv"
gzip -dc datasets/fate/breast_hetero_host.csv.gz | awk -F, -v OFS=, '
  NR == 1 { $1 = "id,vin"; print; next }
  { $1 = $1 "," sprintf("LSV%014d", $1); print }' >"$WORK/$INSURER/imports/policyholders.csv"
head -n 2 "$WORK/$DEALER/imports/customers.csv" | cut -c1-100

# Identifier columns (id, vin) are pseudonymized by the import and never stored; y is the label, the rest features.
register_view() { # URL STEWARD VIEW FILE
  head -n 1 "$4" | jq -R --arg view "$3" --arg file "$(basename "$4")" '{
    name: $view, source: { kind: "csv", path: $file }, subjectColumn: "id",
    columns: [split(",")[] | { name: .,
      type: (if . == "id" or . == "vin" or . == "segment" then "string" else "double" end),
      classification: (if . == "id" or . == "vin" then "identifier" elif . == "y" then "label" else "feature" end) }] }' \
    | api POST "$1/v1/connectors/views" "$2" --data-binary @- \
    | jq -r '"view \(.declaration.name): \(.rows) rows, \(.subjects) subjects,",
             "  columns \(.declaration.columns | map("\(.name) (\(.classification))") | join(", "))"'
}
register_view "$A" "$A_STEWARD" customers "$WORK/$DEALER/imports/customers.csv"
register_view "$B" "$B_STEWARD" policyholders "$WORK/$INSURER/imports/policyholders.csv"

# ---------------------------------------------------------------------------------------------------------------
step "7. Consent: every customer agrees to '$PURPOSE' with the partner, for the columns its gateway holds"
# The consent app sends the raw customer id; the gateway keeps only its keyed pseudonym (record.subject).
# consent_requests writes one POST /v1/consents per customer id on stdin as a curl config (--config): the grant
# body, an idempotency key and the file the answer goes to, $WORK/consents-<party>/<id>.json (the app's own receipt
# of the record id). One curl sends them sixteen at a time: a process or three per grant would cost more CPU than
# the gateway spends on it. The config goes through a pipe, so the token is never written to disk.
consent_requests() { # URL COLLECTOR PARTY PARTNER FIELDS
  jq -R -r -s --arg url "$1/v1/consents" --arg token "$2" --arg party "$3" --arg partner "$4" --argjson fields "$5" \
    --arg p "$PURPOSE" --arg dir "$WORK/consents-$3" '
    [split("\n")[] | select(. != "") | . as $id | {
      subjectId: $id, jurisdiction: "CN",
      recipients: [{ id: $partner, role: "joint-controller" }],
      purposes: [{ purpose: $p, legalBasis: "dpv:Consent" }],
      dataCategories: [{ category: "dpv:Vehicle", sensitive: false }],
      minimization: { fieldAllowlist: $fields, precision: {}, localOnly: false, crossBorder: false },
      notice: { url: "https://dealer.example/privacy", hash: ("a" * 64), version: "2026-01" },
      indication: { method: "app", by: "subject", at: "2026-11-01T09:00:00.000Z" },
      separateConsent: { sharing: true, sensitive: false, crossBorder: false },
      expiresAt: "2099-11-01T00:00:00.000Z" } as $body
    | [ "url = \($url | @json)", "max-time = 20",
        "header = \("authorization: Bearer \($token)" | @json)", "header = \("content-type: application/json" | @json)",
        "header = \("idempotency-key: joint-\($party)-\($id)" | @json)",
        "data = \($body | tojson | @json)", "output = \("\($dir)/\($id).json" | @json)",
        "write-out = \("%{http_code} \($id)\\n" | @json)" ] | join("\n")]
    | join("\nnext\n")'
}
grant_all() { # URL COLLECTOR PARTY PARTNER FIELDS CSV
  local status="$WORK/consents-$3.status" refused
  mkdir -p "$WORK/consents-$3"
  tail -n +2 "$6" | cut -d, -f1 | consent_requests "$1" "$2" "$3" "$4" "$5" \
    | curl --no-progress-meter --parallel --parallel-max 16 --config - >"$status" \
    || fail "$3: not every consent request was answered"
  # Any answer but 2xx stops the walkthrough and shows the first problem document.
  refused=$(awk '$1 !~ /^2/ { print $2; exit }' "$status")
  [[ -z $refused ]] || fail "$3: consent for customer $refused refused: $(cat "$WORK/consents-$3/$refused.json")"
  echo "$3: $(wc -l <"$status") consents granted"
}
grant_all "$A" "$A_COLLECTOR" "$DEALER" "$INSURER" "$FIELDS_A" "$WORK/$DEALER/imports/customers.csv"
grant_all "$B" "$B_COLLECTOR" "$INSURER" "$DEALER" "$FIELDS_B" "$WORK/$INSURER/imports/policyholders.csv"

# ---------------------------------------------------------------------------------------------------------------
# submit BODY: submits a job at the dealer (guest) and prints its id.
submit() { api POST "$A/v1/jobs" "$A_STEWARD" -d "$1" | jq -r .id; }

# finish JOB SECONDS: follows the job at the dealer until it ends, then waits until the insurer has it completed too
# (it learns of completion from the dealer a moment later). A failure shows each party's view of it and stops here.
finish() {
  local deadline
  if ! timeout "$2" node gateway/cli/cli.ts jobs watch "$1" --url "$A" --token "$A_STEWARD" --interval 1000; then
    api GET "$A/v1/jobs/$1" "$A_STEWARD" | jq -c '{party: .self, status, failure}' >&2 || true
    api GET "$B/v1/jobs/$1" "$B_STEWARD" | jq -c '{party: .self, status, failure}' >&2 || true
    fail "job $1 did not complete"
  fi
  deadline=$((SECONDS + 30))
  until [[ $(api GET "$B/v1/jobs/$1" "$B_STEWARD" | jq -r .status) == completed ]]; do
    ((SECONDS < deadline)) || fail "job $1 did not complete at insurer-a within 30 s"
    sleep 0.2
  done
}

step "8. PSI on the VIN: which customers the two partners share (both receive the intersection)"
PSI_JOB=$(submit '{
  "protocol": "psi", "purpose": "'"$PURPOSE"'", "params": { "mode": "intersection" },
  "receivers": ["dealer-4s", "insurer-a"],
  "parties": [ { "id": "dealer-4s", "role": "guest", "view": "customers",     "idColumn": "vin" },
               { "id": "insurer-a", "role": "host",  "view": "policyholders", "idColumn": "vin" } ],
  "deadlines": { "acceptMs": 30000, "stepMs": 60000 } }')
echo "job $PSI_JOB"
finish "$PSI_JOB" 120
IN_COMMON=$(api GET "$A/v1/jobs/$PSI_JOB" "$A_STEWARD" | jq -r .output.count)
echo "dealer-4s learned: $IN_COMMON in common"
api GET "$B/v1/jobs/$PSI_JOB" "$B_STEWARD" | jq -r '"insurer-a learned: \(.output.count) in common"'

# ---------------------------------------------------------------------------------------------------------------
step "9. Joint statistics: the insurer's x0..x2 by the dealer's segments, and their information value against y"
# The dealer sends its segment indicators and labels encrypted (CKKS); the insurer answers with masked products; the
# dealer decrypts only aggregates. Groups under kThreshold are never asked about, and the dealer alone receives.
STATS_JOB=$(submit '{
  "protocol": "joint-stats", "purpose": "'"$PURPOSE"'",
  "params": { "psiJob": "'"$PSI_JOB"'", "segment": "segment", "label": "y", "bins": 5 },
  "receivers": ["dealer-4s"],
  "parties": [ { "id": "dealer-4s", "role": "guest", "view": "customers",     "idColumn": "vin",
                 "columns": ["segment", "y"] },
               { "id": "insurer-a", "role": "host",  "view": "policyholders", "idColumn": "vin",
                 "columns": ["x0", "x1", "x2"] } ],
  "deadlines": { "acceptMs": 30000, "stepMs": 120000 } }')
echo "job $STATS_JOB"
finish "$STATS_JOB" 180
api GET "$A/v1/jobs/$STATS_JOB/output" "$A_STEWARD" >"$WORK/stats-output.json"
jq -r '.result
  | def r: . * 1000 | round / 1000;
  "customers described: \(.rows) (k = \(.k))",
  "groups: \(.groups | map("\(.segment) \(if .suppressed then "suppressed" else .size end)") | join(", "))",
  (.hosts["insurer-a"] | to_entries[] | "insurer-a \(.key) by group: "
    + (.value.byGroup | to_entries | map("\(.key) mean \(.value.mean | r) variance \(.value.variance | r)") | join(", "))),
  "information value against y: "
    + (.hosts["insurer-a"] | to_entries | map("\(.key) \(.value.informationValue.iv | r)") | join(", "))' \
  "$WORK/stats-output.json"

# ---------------------------------------------------------------------------------------------------------------
step "10. A vertical logistic model: the dealer's y and x0..x9 with the insurer's x0..x19"
# Each party keeps its own weights; the dealer alone receives the held-out metrics and the lift over a model on its
# own columns alone. Training is HE-assisted gradient descent (docs/joint-modeling.md, "Vertical models").
VFL_JOB=$(submit '{
  "protocol": "vfl-logistic", "purpose": "'"$PURPOSE"'",
  "params": { "psiJob": "'"$PSI_JOB"'", "label": "y", "epochs": 10, "batchSize": 64, "learningRate": 0.15,
              "model": "breast-risk" },
  "receivers": ["dealer-4s"],
  "parties": [ { "id": "dealer-4s", "role": "guest", "view": "customers",     "idColumn": "vin",
                 "columns": ["y", "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"] },
               { "id": "insurer-a", "role": "host",  "view": "policyholders", "idColumn": "vin",
                 "columns": ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
                             "x14", "x15", "x16", "x17", "x18", "x19"] } ],
  "deadlines": { "acceptMs": 30000, "stepMs": 300000 } }')
echo "job $VFL_JOB"
finish "$VFL_JOB" 360
api GET "$A/v1/jobs/$VFL_JOB/output" "$A_STEWARD" >"$WORK/vfl-output.json"
jq -r '.result
  | def r: . * 10000 | round / 10000;
  def m: "AUC \(.auc | r)  KS \(.ks | r)  log-loss \(.logLoss | r)";
  def pct: . * 1000 | round / 10 | "\(.)%";
  def s: . / 100 | round / 10 | "\(.) s";
  "model \(.model.name) v\(.model.version): \(.epochs) epochs, \(.rounds) rounds in \(.trainMs | s) (HE \(.heMs | s)),",
  "  evaluated on \(.heldOut) held-out customers in \(.evaluationMs | s)",
  "joint model       \(.metrics | m)",
  "dealer only       \(.guestOnly | m)",
  "lift over the dealer alone: log-loss reduction \(.lift.reduction | pct) (95% interval \(.lift.low | pct) to \(.lift.high | pct))"' \
  "$WORK/vfl-output.json"

# ---------------------------------------------------------------------------------------------------------------
step "11. The model card at each gateway: its own part only"
# Reading a card is audited. Each party's card holds its own features, weights and scaler, and the lineage (training
# and PSI jobs, purpose, the consent basis of the customers trained on); the dealer's also the evaluation.
api GET "$A/v1/models/breast-risk" "$A_STEWARD" >"$WORK/model-$DEALER.json"
api GET "$B/v1/models/breast-risk" "$B_STEWARD" >"$WORK/model-$INSURER.json"
for party in "$DEALER" "$INSURER"; do
  jq -r 'def r: . * 1000 | round / 1000;
    "\(.party) \(.name) v\(.version) (\(.role)): \(.features | length) features \(.features | join(","))",
    "  \(.weights | length) weights \(.weights[0:4] | map(r) | join(" ")) …, intercept \(.intercept // "none" | r? // .)",
    "  lineage: job \(.lineage.trainingJob[0:8])… on \(.lineage.customers) customers aligned by PSI job \(.lineage.psiJob[0:8])…,",
    "    consent basis \(.lineage.consentBasisRoot[0:16])… (SHA-256 of its own pseudonyms of them)",
    "  evaluation: \(if .evaluation == null then "none (a host learns no metrics)" else "AUC \(.evaluation.metrics.auc | r)" end)"' \
    "$WORK/model-$party.json"
done
echo "dealer-4s registry:"
node gateway/cli/cli.ts models --url "$A" --token "$A_STEWARD"
echo "insurer-a registry:"
node gateway/cli/cli.ts models --url "$B" --token "$B_STEWARD"

# ---------------------------------------------------------------------------------------------------------------
step "12. Stop both gateways"
stop_gateways
echo "both stopped; their data directories stay in $WORK"
echo
jq -r --arg common "$IN_COMMON" '.result
  | "joint modeling: \($common) in common, model \(.model.name) v\(.model.version) AUC \(.metrics.auc * 10000 | round / 10000)"' \
  "$WORK/vfl-output.json"
