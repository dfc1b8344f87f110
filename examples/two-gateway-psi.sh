#!/usr/bin/env bash
# Two partner gateways, one consent-filtered PSI job (README "Joint jobs between partners", docs/jobs.md).
#
# A car dealer (dealer-4s) and an insurer (insurer-a) each start a gateway on loopback, register each other as
# peers, load a CSV of their customers, record consent, and find the customers they share with private set
# intersection (ECDH-PSI, docs/psi.md). Raw ids never leave either gateway: only blinded points cross. Only
# customers whose consent covers the purpose for the other party enter the job.
#
#   bash examples/two-gateway-psi.sh            # WORK, PORT_A, PORT_B and SEALGATE_PASSPHRASE may be set
#
# Needs only curl, jq and the repository's own Node 24 (npm ci). `npm test` runs this script
# (test/flows/readme-walkthrough.test.ts), which also reads the files it leaves in $WORK.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# The system node may be older; the gateway needs the Node 24 pinned in package.json (native type stripping).
export PATH="$REPO/node_modules/.bin:$PATH"
WORK=${WORK:-$(mktemp -d)}
PORT_A=${PORT_A:-8081}
PORT_B=${PORT_B:-8082}
# Seals each gateway's party keys. A development value: never use it for a real deployment.
export SEALGATE_PASSPHRASE=${SEALGATE_PASSPHRASE:-walkthrough-dev-only-passphrase}

DEALER=dealer-4s
INSURER=insurer-a
A=http://127.0.0.1:$PORT_A   # the dealer's gateway
B=http://127.0.0.1:$PORT_B   # the insurer's gateway
PURPOSE=customer-alignment
PARTIES='["dealer-4s","insurer-a"]'
START_DEADLINE_S=60

step() { printf '\n== %s\n' "$*"; }
fail() { echo "error: $*" >&2; exit 1; }

for tool in curl jq; do command -v "$tool" >/dev/null || fail "$tool is required"; done
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
cleanup() {
  local rc=$? pid deadline
  # SIGTERM lets a gateway finish in-flight requests and close its database; SIGKILL only if it does not stop.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 15))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_gateway() { # PARTY PORT
  mkdir -p "$WORK/$1"
  # SEALGATE_LEDGER=off: anchoring on a chain is independent of this flow, and `local` would start one anvil chain
  # per gateway. The client rate limit is per address, and this script sends up to a few hundred calls a minute to
  # each gateway from 127.0.0.1 (grants eight at a time, then the job watch), so the default of 300 a minute is
  # raised. The partner gateway's signed calls have their own budget (SEALGATE_PEER_RATE_LIMIT_MAX).
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
step "4. The join purpose '$PURPOSE' in each gateway's policy bundle"
# Each party decides under its own rules: the purpose allows only `join`, only the id and vin fields, and outputs
# only to the two parties. PUT /v1/policies takes the whole bundle; it is validated before it takes effect.
add_purpose() { # URL ADMIN
  local bundle
  bundle=$(api GET "$1/v1/policies" "$2" | jq --arg p "$PURPOSE" --argjson parties "$PARTIES" '.bundle
    | .purposes[$p] = { description: "Align customers across partners", fieldAllowlist: ["id", "vin"], precision: {},
                        kThreshold: 1, allowedRecipients: $parties, actions: ["join"] }')
  api PUT "$1/v1/policies" "$2" -d "$bundle" | jq -r '"policy version \(.previousVersion[0:12])… -> \(.version[0:12])…"'
}
add_purpose "$A" "$A_ADMIN"
add_purpose "$B" "$B_ADMIN"

# ---------------------------------------------------------------------------------------------------------------
step "5. Each party delegates the purpose to the other (signed, expiring)"
delegate() { # URL STEWARD PARTNER
  api POST "$1/v1/delegations" "$2" -d "{\"partner\":\"$3\",\"purposes\":[\"$PURPOSE\"],\"fieldAllowlist\":[\"id\",\"vin\"],
    \"expiresAt\":\"2030-01-01T00:00:00.000Z\"}" | jq -r '.delegation | "\(.controller) delegates \(.purposes | join(", ")) to \(.partner) until \(.expiresAt)"'
}
delegate "$A" "$A_STEWARD" "$INSURER"
delegate "$B" "$B_STEWARD" "$DEALER"

# ---------------------------------------------------------------------------------------------------------------
step "6. Load a CSV into each gateway: dealer customers 1..120, insurer policyholders 61..200 (60 in common)"
# The VIN is the shared identifier both partners know for the same customer; PSI aligns on it. Identifier columns
# are classified `identifier`: the import pseudonymizes `id` and stores neither column (docs/connectors.md).
write_csv() { # FILE FIRST LAST
  { echo 'id,vin,x0'; for ((i = $2; i <= $3; i++)); do printf '%d,LSV%014d,%s\n' "$i" "$i" "$((i % 97)).5"; done; } >"$1"
}
register_view() { # URL STEWARD VIEW
  api POST "$1/v1/connectors/views" "$2" -d '{
    "name": "'"$3"'", "source": { "kind": "csv", "path": "'"$3"'.csv" }, "subjectColumn": "id",
    "columns": [ { "name": "id",  "type": "string", "classification": "identifier" },
                 { "name": "vin", "type": "string", "classification": "identifier" },
                 { "name": "x0",  "type": "double", "classification": "feature" } ] }' \
    | jq -r '"view \(.declaration.name): \(.rows) rows, \(.subjects) subjects"'
}
# The gateway creates <dataDir>/imports at start; only files under an import root can be read.
write_csv "$WORK/$DEALER/imports/customers.csv" 1 120
write_csv "$WORK/$INSURER/imports/policyholders.csv" 61 200
register_view "$A" "$A_STEWARD" customers
register_view "$B" "$B_STEWARD" policyholders

# ---------------------------------------------------------------------------------------------------------------
step "7. Consent: every customer agrees to '$PURPOSE' with both partners"
# The consent app sends the raw customer id; the gateway keeps only its keyed pseudonym (record.subject).
# Each answer is kept in $WORK/consents-<party>/<id>.json (the app's own receipt of the record id).
grant_consent() { # URL COLLECTOR PARTY ID
  jq -n --arg id "$4" --arg p "$PURPOSE" --argjson parties "$PARTIES" '{
    subjectId: $id, jurisdiction: "CN",
    recipients: [$parties[] | { id: ., role: "joint-controller" }],
    purposes: [{ purpose: $p, legalBasis: "dpv:Consent" }],
    dataCategories: [{ category: "dpv:Vehicle", sensitive: false }],
    minimization: { fieldAllowlist: ["id", "vin"], precision: {}, localOnly: false, crossBorder: false },
    notice: { url: "https://dealer.example/privacy", hash: ("a" * 64), version: "2026-01" },
    indication: { method: "app", by: "subject", at: "2026-11-01T09:00:00.000Z" },
    separateConsent: { sharing: true, sensitive: false, crossBorder: false },
    expiresAt: "2099-11-01T00:00:00.000Z" }' \
    | api POST "$1/v1/consents" "$2" -H "idempotency-key: walkthrough-$3-$4" --data-binary @- >"$WORK/consents-$3/$4.json"
}
export -f api grant_consent
export WORK PURPOSE PARTIES
grant_all() { # URL COLLECTOR PARTY FIRST LAST
  mkdir -p "$WORK/consents-$3"
  # Eight at a time; exit 255 makes xargs stop at the first refusal instead of sending the rest.
  seq "$4" "$5" | xargs -P 8 -I{} bash -c 'grant_consent "$@" || exit 255' _ "$1" "$2" "$3" {}
  echo "$3: $(ls "$WORK/consents-$3" | wc -l) consents granted"
}
grant_all "$A" "$A_COLLECTOR" "$DEALER" 1 120
grant_all "$B" "$B_COLLECTOR" "$INSURER" 61 200

# Five dealer customers in the overlap change their minds: one call each, effective at the next decision.
for id in 61 62 63 64 65; do
  RECORD=$(jq -r .record.recordId "$WORK/consents-$DEALER/$id.json")
  api POST "$A/v1/consents/$RECORD/withdraw" "$A_COLLECTOR" -d '{}' >/dev/null
done
echo "dealer-4s: customers 61..65 withdrew; they must not be in the result"

# ---------------------------------------------------------------------------------------------------------------
step "8. Submit the PSI job at the dealer (guest); both parties receive the intersection"
JOB=$(api POST "$A/v1/jobs" "$A_STEWARD" -d '{
  "protocol": "psi", "purpose": "'"$PURPOSE"'", "params": { "mode": "intersection" },
  "receivers": ["dealer-4s", "insurer-a"],
  "parties": [ { "id": "dealer-4s", "role": "guest", "view": "customers",     "idColumn": "vin" },
               { "id": "insurer-a", "role": "host",  "view": "policyholders", "idColumn": "vin" } ],
  "deadlines": { "acceptMs": 30000, "stepMs": 60000 } }' | jq -r .id)
echo "job $JOB"
# The watcher ends when the job does; the job's own deadlines bound it, and `timeout` bounds the watcher too.
timeout 120 node gateway/cli/cli.ts jobs watch "$JOB" --url "$A" --token "$A_STEWARD" --interval 250

# The insurer learns of completion from the dealer a moment later.
deadline=$((SECONDS + 30))
until [[ $(api GET "$B/v1/jobs/$JOB" "$B_STEWARD" | jq -r .status) == completed ]]; do
  ((SECONDS < deadline)) || fail "job $JOB did not complete at insurer-a within 30 s"
  sleep 0.2
done

# ---------------------------------------------------------------------------------------------------------------
step "9. Timeline (every party's steps, as the dealer sees them)"
api GET "$A/v1/jobs/$JOB" "$A_STEWARD" | jq -r '
  "trace \(.traceId)  status \(.status)  accepted by \(.acceptedBy | join(", "))",
  (.timeline[] | "  \(.party | .+ " " * (10 - length)) \(.step | .+ " " * (8 - length)) attempt \(.attempt)  \(.status)  \(.durationMs // 0) ms  rows \(.rows)  bytes in \(.bytesIn) out \(.bytesOut)  \(.detail | tostring)"),
  "  dealer-4s learned: \(.output.count) in common; partner set sizes \(.output.peerSizes | tostring)"'
api GET "$B/v1/jobs/$JOB" "$B_STEWARD" \
  | jq -r '"  insurer-a learned: \(.output.count) in common; partner set sizes \(.output.peerSizes | tostring)"'

step "10. Output at each receiver: its own pseudonyms, in one shared order"
api GET "$A/v1/jobs/$JOB/output?limit=10000" "$A_STEWARD" >"$WORK/output-$DEALER.json"
api GET "$B/v1/jobs/$JOB/output?limit=10000" "$B_STEWARD" >"$WORK/output-$INSURER.json"
for party in "$DEALER" "$INSURER"; do
  jq -r --arg party "$party" '"\($party): \(.count) subjects, first three \(.subjects[0:3] | join(" "))"' "$WORK/output-$party.json"
done

# The pseudonyms are the dealer's own: it maps them back to its customers with its own key, which never leaves it.
DEALER_IDS=$(seq 1 120 | jq -R . | jq -sc .)
api POST "$A/v1/subjects/pseudonyms" "$A_STEWARD" -d "{\"subjectIds\":$DEALER_IDS}" >"$WORK/pseudonyms-$DEALER.json"
jq -r --argjson ids "$DEALER_IDS" --slurpfile out "$WORK/output-$DEALER.json" '
  ([.subjects, $ids] | transpose | map({ key: .[0], value: .[1] }) | from_entries) as $raw
  | [$out[0].subjects[] | $raw[.] | tonumber] | sort
  | "dealer-4s maps them back to customers \(.[0])..\(.[-1]) (\(length)); withdrawn 61..65 in the result: \(map(select(. >= 61 and . <= 65)) | length)"' \
  "$WORK/pseudonyms-$DEALER.json"

echo
echo "intersection: $(jq -r '.subjects | length' "$WORK/output-$DEALER.json") subjects"
