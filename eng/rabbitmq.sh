#!/usr/bin/env bash
# Starts or stops a RabbitMQ node whose data and logs live in DIR, listening on loopback only.
#   eng/rabbitmq.sh start DIR AMQP_PORT [DIST_PORT] [EPMD_PORT] [MANAGEMENT_PORT]
#       defaults: DIST_PORT = AMQP_PORT + 20000 (AMQP_PORT + 2 above 45535), EPMD_PORT = AMQP_PORT + 1, no management plugin
#   eng/rabbitmq.sh stop DIR
#   eng/rabbitmq.sh run DIR AMQP_PORT [DIST_PORT] [EPMD_PORT] [MANAGEMENT_PORT]
#       runs the node in the foreground (what an Aspire executable resource wants), logs to stdout; SIGTERM or
#       SIGINT stops the node and its port mapper
# The node runs as the rabbitmq user with its own Erlang port mapper (epmd) on EPMD_PORT, so several
# nodes can run side by side; stop ends both. Default user guest/guest.
set -euo pipefail
cmd=${1:?usage: rabbitmq.sh start|stop|run DIR [AMQP_PORT] [DIST_PORT] [EPMD_PORT] [MANAGEMENT_PORT]}
dir=${2:?data directory required}

wait_for_port() {
  local port=$1 seconds=$2 pid=$3
  for ((i = 0; i < seconds * 4; i++)); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.25
  done
  return 1
}

prepare() {
  port=${1:?AMQP port required}
  dist_port=${2:-$((port + 20000 <= 65535 ? port + 20000 : port + 2))}
  epmd_port=${3:-$((port + 1))}
  management_port=${4:-}
  mkdir -p "$dir/mnesia" "$dir/log"
  if [[ -n $management_port ]]; then
    echo '[rabbitmq_management].' >"$dir/enabled_plugins"
    printf 'management.tcp.port = %s\nmanagement.tcp.ip = 127.0.0.1\n' "$management_port" >"$dir/rabbitmq.conf"
  else
    echo '[].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq.conf"
  fi
  printf '%s %s %s\n' "$port" "$dist_port" "$epmd_port" >"$dir/ports"
  chown -R rabbitmq:rabbitmq "$dir"
}

# The node's environment (after prepare); RUNNING_UNDER_SYSTEMD makes the start script exec the Erlang VM,
# so the pid of what runs under `env` is the node itself.
node_env() {
  node_env=(HOME="$dir" RUNNING_UNDER_SYSTEMD=true
    RABBITMQ_NODENAME="rabbit-$port@localhost"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist_port"
    ERL_EPMD_PORT="$epmd_port" ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
}

case $cmd in
  start)
    if [[ -f $dir/rabbitmq.pid ]] && kill -0 "$(cat "$dir/rabbitmq.pid")" 2>/dev/null; then
      echo "RabbitMQ already running from $dir" >&2
      exit 0
    fi
    prepare "${@:3}"
    node_env
    # setsid keeps a Ctrl-C in the calling terminal from reaching the node (stop shuts it down in order).
    env "${node_env[@]}" setsid setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
      nohup /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/server.log" 2>&1 </dev/null &
    echo $! >"$dir/rabbitmq.pid"
    if ! wait_for_port "$port" 90 "$(cat "$dir/rabbitmq.pid")"; then
      echo "RabbitMQ did not open port $port; last lines of $dir/server.log:" >&2
      tail -20 "$dir/server.log" >&2
      exit 1
    fi
    ;;
  run)
    prepare "${@:3}"
    # RABBITMQ_LOGS=- sends the node's log to stdout, so whoever runs this (the dashboard) sees it.
    node_env
    # The node's port mapper runs here as a child, not as the daemon the Erlang VM would start on its own (which
    # would outlive the node): whoever stops this script's process group stops it too.
    setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups epmd -port "$epmd_port" -address 127.0.0.1 &
    mapper=$!
    env "${node_env[@]}" RABBITMQ_LOGS=- setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server &
    server=$!
    trap 'kill -TERM "$server" 2>/dev/null' TERM INT
    status=0
    while kill -0 "$server" 2>/dev/null; do
      wait "$server" && status=0 || status=$?
    done
    kill -TERM "$mapper" 2>/dev/null || true
    exit "$status"
    ;;
  stop)
    if [[ -f $dir/rabbitmq.pid ]]; then
      pid=$(cat "$dir/rabbitmq.pid")
      if kill -TERM "$pid" 2>/dev/null; then
        for ((i = 0; i < 120; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
      rm -f "$dir/rabbitmq.pid"
    fi
    if [[ -f $dir/ports ]]; then
      read -r _ _ epmd_port <"$dir/ports"
      ERL_EPMD_PORT=$epmd_port epmd -kill >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: rabbitmq.sh start|stop|run DIR [AMQP_PORT] [DIST_PORT] [EPMD_PORT] [MANAGEMENT_PORT]" >&2
    exit 2
    ;;
esac
