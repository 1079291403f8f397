#!/usr/bin/env bash
# A training run split across seven "hosts": network namespaces this test
# creates, each with its own address on one bridge (10.77.0.0/24, inside the
# namespaces only). The coordinator, 2 env servers, 2 actors and 2 learner
# ranks (Gloo) each run in their own namespace and talk only over that
# network, with mutual TLS and a bearer token on every service. Mid-run one
# env server's link is cut and restored; the run must still reach its steps
# with the accounting identity exact.
#
# Usage: multihost_netns_test.sh BIN_DIR
#   BIN_DIR has agentgym, agentgym-coordinator, agentgym-env-server,
#   agentgym-learner, agentgym-actor and agentgym-ctl (any depth).
# Exit 0: passed; 77: skipped (not root, or namespaces cannot be made; the
# reason is printed); anything else: failed.
set -uo pipefail

readonly BIN_DIR=${1:?usage: multihost_netns_test.sh BIN_DIR}
readonly MAX_STEPS=${AG_CLUSTER_STEPS:-20}
readonly CUT_AT_STEP=3
readonly CUT_SECONDS=6
readonly TIMEOUT_S=${AG_CLUSTER_TIMEOUT_S:-600}

skip() { echo "SKIPPED: $*"; exit 77; }
fail() {
  echo "FAILED: $*"
  for f in "$WORK"/logs/*.log; do
    [[ -f $f ]] || continue
    echo "---- last lines of $(basename "$f")"
    tail -n 15 "$f"
  done
  exit 1
}

bin() {
  local found
  found=$(find "$BIN_DIR" -type f -name "$1" -perm -u+x 2>/dev/null | head -n 1)
  [[ -n $found ]] || { echo "FAILED: no $1 under $BIN_DIR"; exit 1; }
  echo "$found"
}

[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces (CI runs as root)"
command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
command -v openssl >/dev/null || skip "no openssl to make the test certificates"

AGENTGYM=$(bin agentgym); COORDINATOR=$(bin agentgym-coordinator)
ENV_SERVER=$(bin agentgym-env-server); LEARNER=$(bin agentgym-learner)
ACTOR=$(bin agentgym-actor); CTL=$(bin agentgym-ctl)

WORK=$(mktemp -d /tmp/agentgym-cluster.XXXXXX)
mkdir -p "$WORK/logs"
readonly TAG="ag$$"           # namespace names: unique to this run
readonly SWITCH="${TAG}-sw"   # holds the bridge
HOSTS=(coord env0 env1 actor0 actor1 learner0 learner1)
declare -A ADDR=([coord]=10.77.0.1 [env0]=10.77.0.2 [env1]=10.77.0.3 [actor0]=10.77.0.4
                 [actor1]=10.77.0.5 [learner0]=10.77.0.6 [learner1]=10.77.0.7)
declare -A PID=()
MADE_NS=()

cleanup() {
  for name in "${!PID[@]}"; do kill -KILL "${PID[$name]}" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${MADE_NS[@]}"; do
    # Anything still in the namespace (a child of a child) goes with it.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [[ ${AG_CLUSTER_KEEP:-0} == 1 ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the network: one namespace per host, a veth pair each to the bridge.
ip netns add "$SWITCH" 2>"$WORK/netns.err" || skip "cannot create a network namespace: $(cat "$WORK/netns.err")"
MADE_NS+=("$SWITCH")
ip -n "$SWITCH" link add br0 type bridge || skip "cannot create a bridge in a namespace"
ip -n "$SWITCH" link set br0 up
ip -n "$SWITCH" link set lo up
i=0
for h in "${HOSTS[@]}"; do
  ns="${TAG}-$h"
  ip netns add "$ns" || fail "ip netns add $ns"
  MADE_NS+=("$ns")
  ip link add "${TAG}h$i" type veth peer name "${TAG}s$i" || skip "cannot create veth pairs"
  ip link set "${TAG}h$i" netns "$ns"
  ip link set "${TAG}s$i" netns "$SWITCH"
  ip -n "$ns" link set "${TAG}h$i" name eth0
  ip -n "$ns" addr add "${ADDR[$h]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$SWITCH" link set "${TAG}s$i" master br0
  ip -n "$SWITCH" link set "${TAG}s$i" up
  i=$((i + 1))
done
ENV1_LINK="${TAG}s2"  # env1's port on the bridge (index 2 in HOSTS)

# ---- one CA, one certificate for every role (serverAuth + clientAuth, the
# addresses as SANs), one token: the cluster model PeerClientSecurity serves.
cd "$WORK" || exit 1
{
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=agentgym-test-ca" \
    -keyout ca.key -out ca.pem
  openssl req -newkey rsa:2048 -nodes -subj "/CN=agentgym-cluster" -keyout node.key -out node.csr
  sans="DNS:localhost,IP:127.0.0.1"
  for h in "${HOSTS[@]}"; do sans="$sans,IP:${ADDR[$h]}"; done
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" > node.ext
  openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile node.ext -out node.pem
} >"$WORK/openssl.log" 2>&1 || fail "openssl could not make the certificates: $(tail -n 5 "$WORK/openssl.log")"
openssl rand -hex 24 > token
chmod 600 token node.key
SERVE_TLS=(--tls-cert "$WORK/node.pem" --tls-key "$WORK/node.key" --tls-client-ca "$WORK/ca.pem"
           --token-file "$WORK/token")
PEER_TLS=(--peer-tls-ca "$WORK/ca.pem")
CLIENT_TLS=(--tls-ca "$WORK/ca.pem" --tls-cert "$WORK/node.pem" --tls-key "$WORK/node.key"
            --token-file "$WORK/token")

# ---- the run directory: configs and the initial model, made once.
"$AGENTGYM" train --prepare-only --run-root "$WORK/runs" \
  --set run.total_steps="$MAX_STEPS" --set learner.groups_per_step=4 \
  --set learner.checkpoint_every=1000 --set actor.concurrent_episodes=32 \
  >"$WORK/logs/prepare.log" 2>&1 || fail "agentgym train --prepare-only"
RUN_DIR=$(sed -n 's/^prepared run directory: //p' "$WORK/logs/prepare.log")
CONFIG="$RUN_DIR/components.yaml"
[[ -f $CONFIG ]] || fail "no components.yaml in '$RUN_DIR'"

start() {  # start NAME HOST CMD...: runs CMD in HOST's namespace
  local name=$1 host=$2; shift 2
  OMP_NUM_THREADS=1 ip netns exec "${TAG}-$host" "$@" >"$WORK/logs/$name.log" 2>&1 &
  PID[$name]=$!
}
ctl() {
  ip netns exec "${TAG}-actor0" "$CTL" -c "${ADDR[coord]}:7070" --timeout-ms 3000 "${CLIENT_TLS[@]}" "$@"
}
status_field() {  # status_field PYTHON_EXPR: evaluates it on the status JSON as `s`
  ctl --json status 2>/dev/null | /usr/bin/python3 -c "import json,sys; s=json.loads(sys.stdin.readline()); print($1)"
}
alive() { kill -0 "${PID[$1]}" 2>/dev/null; }

start coordinator coord "$COORDINATOR" --config "$CONFIG" --listen "${ADDR[coord]}:7070" \
  --state-file "$WORK/coordinator-state.json" "${SERVE_TLS[@]}" "${PEER_TLS[@]}"
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.2; done
ctl status >/dev/null 2>&1 ||
  fail "the coordinator did not answer from another namespace over TLS with the token"

# A call without the token is refused: the services are not open to whoever
# reaches the port.
if ip netns exec "${TAG}-actor0" "$CTL" -c "${ADDR[coord]}:7070" --timeout-ms 3000 \
     --tls-ca "$WORK/ca.pem" --tls-cert "$WORK/node.pem" --tls-key "$WORK/node.key" status \
     >"$WORK/logs/no-token.log" 2>&1; then
  fail "a call without the token was answered"
fi
grep -qi "unauthenticated" "$WORK/logs/no-token.log" || fail "no UNAUTHENTICATED without the token: $(cat "$WORK/logs/no-token.log")"

for e in env0 env1; do
  start "$e" "$e" "$ENV_SERVER" --envs maze --listen "${ADDR[$e]}:7100" \
    --coordinator "${ADDR[coord]}:7070" --advertise "${ADDR[$e]}:7100" "${SERVE_TLS[@]}" "${PEER_TLS[@]}"
done
for r in 0 1; do
  mkdir -p "$WORK/learner$r"
  start "learner$r" "learner$r" "$LEARNER" --config "$CONFIG" --coordinator "${ADDR[coord]}:7070" \
    --listen "${ADDR[learner$r]}:7200" --advertise "${ADDR[learner$r]}:7200" \
    --rank "$r" --world-size 2 --run-dir "$WORK/learner$r" --max-steps "$MAX_STEPS" \
    "${SERVE_TLS[@]}" "${PEER_TLS[@]}"
done
for a in actor0 actor1; do
  start "$a" "$a" "$ACTOR" --config "$CONFIG" --coordinator "${ADDR[coord]}:7070" --actor-id "$a" \
    "${CLIENT_TLS[@]}"
done

# ---- train; cut env1's link once training is under way, then restore it.
deadline=$((SECONDS + TIMEOUT_S))
cut_done=0
step=0
while alive learner0; do
  ((SECONDS < deadline)) || fail "learner rank 0 did not reach step $MAX_STEPS within ${TIMEOUT_S}s (at step $step)"
  # (Rank 1 may finish a moment before rank 0, which still checkpoints.)
  for name in coordinator env0 env1 actor0 actor1; do
    alive "$name" || fail "$name exited during the run"
  done
  step=$(status_field 's.get("training_step", "0")' || echo 0)
  if ((cut_done == 0 && ${step:-0} >= CUT_AT_STEP)); then
    echo "step $step: cutting env1's link for ${CUT_SECONDS}s"
    ip -n "$SWITCH" link set "$ENV1_LINK" down
    sleep "$CUT_SECONDS"
    ip -n "$SWITCH" link set "$ENV1_LINK" up
    cut_done=1
    cut_step=$step
    echo "link restored"
  fi
  sleep 1
done
wait "${PID[learner0]}"; rc=$?
unset 'PID[learner0]'
((rc == 0)) || fail "learner rank 0 exited with $rc"
((cut_done == 1)) || fail "the run ended before the link cut (step $CUT_AT_STEP)"
((cut_step < MAX_STEPS)) || fail "the link was cut after the last step"

# Rank 1 stops by itself at the same step.
for _ in $(seq 300); do alive learner1 || break; sleep 0.2; done
alive learner1 && fail "learner rank 1 was still running 60 s after rank 0 finished"
wait "${PID[learner1]}"; rc=$?
unset 'PID[learner1]'
((rc == 0)) || fail "learner rank 1 exited with $rc"

# ---- stop the actors as agentgym train does: each waits for its acks and
# reports its final counts.
for name in actor0 actor1; do
  kill -TERM "${PID[$name]}" 2>/dev/null
  for _ in $(seq 150); do alive "$name" || break; sleep 0.2; done
  alive "$name" && fail "$name did not stop within 30 s of SIGTERM"
  unset "PID[$name]"
done

ctl --json status >"$WORK/final-status.json" 2>"$WORK/logs/ctl.log" || fail "final status: $(cat "$WORK/logs/ctl.log")"
/usr/bin/python3 - "$WORK/final-status.json" "$MAX_STEPS" <<'EOF' || fail "final status check"
import json, sys
s = json.loads(open(sys.argv[1]).readline())
a = s.get("accounting", {})
n = lambda k: int(a.get(k, 0))
step = int(s.get("training_step", 0))
rhs = n("trained") + n("stale") + n("rejected") + n("env_error") + n("dropped") + n("in_flight")
print("training_step", step, "accounting", json.dumps(a))
ok = True
if step < int(sys.argv[2]):
    print("training_step", step, "< max steps", sys.argv[2]); ok = False
if n("produced") != rhs:
    print("accounting identity broken: produced", n("produced"), "!= sum", rhs); ok = False
if n("trained") <= 0:
    print("nothing trained"); ok = False
servers = {e.get("address", "") for e in s.get("env_servers", [])}
for want in ("10.77.0.2:7100", "10.77.0.3:7100"):
    if want not in servers:
        print("env server", want, "not in the status:", sorted(servers)); ok = False
sys.exit(0 if ok else 1)
EOF
grep -q "joined the Gloo group" "$WORK/logs/learner1.log" || fail "learner rank 1 never joined the Gloo group"
echo "PASSED: 2 learner ranks, 2 actors, 2 env servers and the coordinator in 7 namespaces, TLS + token, link cut at step $cut_step"
