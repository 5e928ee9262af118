# tests/registry/serve.sh - sourced: a real registry (distribution 2.8,
# Debian's docker-registry) serving a storage tree, on loopback only.
#
#   start_registry ROOTDIR WORKDIR   sets REG_PORT, REG_CONFIG, REG_PID; 0 once /v2/ answers
#   stop_registry                    stops it (call from a trap)
#
# The config has no auth and deletes enabled (garbage-collect needs nothing
# more); the registry's log goes to WORKDIR/registry.log.

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_registry() {  # start_registry ROOTDIR WORKDIR
	REG_ROOT=$1
	REG_WORK=$2
	mkdir -p "$REG_WORK"
	REG_PORT=$(free_port) || return 1
	REG_CONFIG=$REG_WORK/config.yml
	cat > "$REG_CONFIG" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REG_ROOT
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
CONF
	docker-registry serve "$REG_CONFIG" > "$REG_WORK/registry.log" 2>&1 &
	REG_PID=$!
	_i=0
	while [ $_i -lt 100 ]; do
		if curl -fsS "http://127.0.0.1:$REG_PORT/v2/" > /dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$REG_PID" 2> /dev/null; then
			REG_PID=
			return 1
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	stop_registry
	return 1
}

stop_registry() {
	if [ -n "${REG_PID:-}" ]; then
		kill "$REG_PID" 2> /dev/null
		wait "$REG_PID" 2> /dev/null
		REG_PID=
	fi
}
