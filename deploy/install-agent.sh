#!/bin/sh
# install-agent.sh: puts the Steward agent on this machine and enrolls it.
#
#   install-agent.sh --collector HOST:PORT --token TOKEN --ca-sha256 FINGERPRINT
#
# 1. Fetches the collector's CA certificate and checks its SHA-256 against
#    FINGERPRINT before trusting anything from the collector.
# 2. Downloads the agent package for this architecture over HTTPS (checked
#    against that CA), checks its SHA-256 against the collector's index,
#    installs it with dpkg (skipped when that version is installed).
# 3. Writes /etc/steward/ca.pem, the collector and CA settings into
#    /etc/steward/agent.conf and, unless this host is enrolled already, the
#    token into /etc/steward/token (0600).
# 4. Starts the agent (systemd where it runs, else in the background with
#    start-stop-daemon, log in /var/log/steward-agent.log) and waits until it
#    has enrolled.
#
# Running it again is harmless; on a host that is enrolled already the
# identity is kept and the token is not used. The last line on stdout is
#   STEWARD-INSTALL: result=installed|already agent_id=ID hostname=NAME version=V
# and errors go to stderr as "install-agent: error: ..." with exit 1 (2 for
# a usage error). docs/install.md, "Automatic install".
set -eu

# The collector fills these in when it serves this script
# (https://COLLECTOR:PORT/install/agent.sh).
DEFAULT_COLLECTOR=""
DEFAULT_DOWNLOAD=""

CONF_DIR=/etc/steward
STATE_DIR=/var/lib/steward-agent
AGENT_BIN=/usr/bin/steward-agent
PIDFILE=/run/steward-agent.pid
LOGFILE=/var/log/steward-agent.log

usage() {
	cat <<EOF
usage: install-agent.sh --collector HOST:PORT --token TOKEN --ca-sha256 FINGERPRINT [options]

Installs the Steward agent from the collector, enrolls it and starts it.

  --collector HOST:PORT   the collector agents report to (its gRPC port)
  --token TOKEN           an enrollment token ('stewardctl token create');
                          or --token-file FILE, or STEWARD_TOKEN in the environment
  --ca-sha256 HEX         SHA-256 of the collector's CA certificate
                          ('stewardctl install --print-command' shows it)
  --download URL          the collector's HTTPS download address
                          (default: https://HOST:PORT+1)
  --trusted-key FILE      a publisher public key ('stewardctl keys generate' PREFIX.pub)
                          whose signed artifacts and jobs the agent accepts; or its
                          PEM text in STEWARD_TRUSTED_KEY. Without one the agent
                          installs nothing and runs no job that changes the host
  --wait SECONDS          how long to wait for the agent to enroll (default 60)
  -h, --help              this help
EOF
}

die() {
	echo "install-agent: error: $*" >&2
	exit 1
}

usage_error() {
	echo "install-agent: error: $*" >&2
	echo "see 'install-agent.sh --help'" >&2
	exit 2
}

# Everything runs from main, called on the last line: when this script comes
# on stdin (curl ... | sh, ssh host sh -s), the shell has read all of it
# before anything runs, and no command can eat the rest.
main() {
	COLLECTOR="$DEFAULT_COLLECTOR"
	DOWNLOAD="$DEFAULT_DOWNLOAD"
	TOKEN="${STEWARD_TOKEN:-}"
	TOKEN_FILE=""
	CA_SHA256=""
	TRUSTED_KEY="${STEWARD_TRUSTED_KEY:-}"
	WAIT=60
	while [ $# -gt 0 ]; do
		case "$1" in
		--trusted-key)
			[ $# -ge 2 ] || usage_error "$1 needs a value"
			[ -r "$2" ] || usage_error "cannot read the trusted key $2"
			TRUSTED_KEY=$(cat "$2")
			shift 2
			;;
		--collector | --token | --token-file | --ca-sha256 | --download | --wait)
			[ $# -ge 2 ] || usage_error "$1 needs a value"
			case "$1" in
			--collector) COLLECTOR="$2" ;;
			--token) TOKEN="$2" ;;
			--token-file) TOKEN_FILE="$2" ;;
			--ca-sha256) CA_SHA256="$2" ;;
			--download) DOWNLOAD="$2" ;;
			--wait) WAIT="$2" ;;
			esac
			shift 2
			;;
		--collector=* | --token=* | --token-file=* | --ca-sha256=* | --download=* | --wait=*)
			value="${1#*=}"
			case "$1" in
			--collector=*) COLLECTOR="$value" ;;
			--token=*) TOKEN="$value" ;;
			--token-file=*) TOKEN_FILE="$value" ;;
			--ca-sha256=*) CA_SHA256="$value" ;;
			--download=*) DOWNLOAD="$value" ;;
			--wait=*) WAIT="$value" ;;
			esac
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		*) usage_error "unknown argument '$1'" ;;
		esac
	done

	[ -n "$COLLECTOR" ] || usage_error "--collector HOST:PORT is required"
	[ -n "$CA_SHA256" ] || usage_error "--ca-sha256 is required: the installer trusts the collector only when its CA has this fingerprint"
	if [ -n "$TOKEN_FILE" ]; then
		[ -r "$TOKEN_FILE" ] || usage_error "cannot read the token file $TOKEN_FILE"
		TOKEN=$(tr -d ' \t\r\n' <"$TOKEN_FILE")
	fi
	case "$WAIT" in '' | *[!0-9]*) usage_error "--wait takes whole seconds, not '$WAIT'" ;; esac
	if [ -n "$TRUSTED_KEY" ]; then
		case "$TRUSTED_KEY" in
		*"-----BEGIN PUBLIC KEY-----"*"-----END PUBLIC KEY-----"*) ;;
		*) usage_error "the trusted key is not a PEM public key ('stewardctl keys generate' PREFIX.pub)" ;;
		esac
	fi
	case "$COLLECTOR" in
	*:*) ;;
	*) usage_error "--collector must be HOST:PORT, not '$COLLECTOR'" ;;
	esac
	PORT="${COLLECTOR##*:}"
	HOST="${COLLECTOR%:*}"
	case "$PORT" in '' | *[!0-9]*) usage_error "--collector must be HOST:PORT, not '$COLLECTOR'" ;; esac
	[ -n "$HOST" ] || usage_error "--collector must be HOST:PORT, not '$COLLECTOR'"
	[ -n "$DOWNLOAD" ] || DOWNLOAD="https://$HOST:$((PORT + 1))"
	DOWNLOAD="${DOWNLOAD%/}"
	case "$DOWNLOAD" in https://*) ;; *) usage_error "--download must be an https:// URL, not '$DOWNLOAD'" ;; esac
	# Fingerprints are compared as lower-case hex without separators
	# ("AB:CD:..." as openssl prints them works too).
	WANT_FP=$(printf '%s' "$CA_SHA256" | tr -d ': \t' | tr 'A-F' 'a-f')
	case "$WANT_FP" in *[!0-9a-f]*) usage_error "--ca-sha256 must be 64 hex digits" ;; esac
	[ ${#WANT_FP} -eq 64 ] || usage_error "--ca-sha256 must be 64 hex digits, not ${#WANT_FP}"

	for tool in dpkg dpkg-query sha256sum base64 sed awk; do
		command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: this installer is for Debian and Ubuntu machines"
	done
	if command -v curl >/dev/null 2>&1; then
		FETCHER=curl
	elif command -v wget >/dev/null 2>&1; then
		FETCHER=wget
	else
		die "neither curl nor wget is installed: install one (apt-get install curl) and run this again"
	fi

	# An enrolled host downloads with its agent's certificate when it has no token.
	AGENT_CERT=""
	AGENT_KEY=""
	if [ -s "$STATE_DIR/agent.id" ] && [ -r "$STATE_DIR/agent.crt" ] && [ -r "$STATE_DIR/agent.key" ]; then
		AGENT_CERT="$STATE_DIR/agent.crt"
		AGENT_KEY="$STATE_DIR/agent.key"
	fi
	WORK=$(mktemp -d /tmp/steward-install.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT INT TERM
	chmod 0700 "$WORK"
	MACHINE=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null || echo unknown)
	# The token travels in a header file, never on a command line (ps shows those).
	umask 077
	printf 'X-Steward-Hostname: %s\n' "$MACHINE" >"$WORK/headers"
	printf 'header = X-Steward-Hostname: %s\n' "$MACHINE" >"$WORK/wgetrc"
	if [ -n "$TOKEN" ]; then
		printf 'Authorization: Bearer %s\n' "$TOKEN" >>"$WORK/headers"
		printf 'header = Authorization: Bearer %s\n' "$TOKEN" >>"$WORK/wgetrc"
	fi
	: >"$WORK/no-headers"
	umask 022

	# fetch PATH OUT [insecure]: GET $DOWNLOAD$PATH into OUT, trusting the
	# pinned CA (or, for the CA itself, nothing: its fingerprint is checked).
	# On an HTTP error the collector's message is shown.
	fetch() {
		url="$DOWNLOAD$1"
		out="$2"
		rm -f "$out"
		if [ "$FETCHER" = curl ]; then
			# Nothing secret goes to a server not yet verified: the token
			# is sent only to the one holding the pinned CA's certificate.
			if [ "${3:-}" = insecure ]; then
				trust="--insecure"
				headers="$WORK/no-headers"
			else
				trust="--cacert $WORK/ca.pem"
				headers="$WORK/headers"
				# An enrolled host shows its agent's certificate: no token needed.
				[ -z "$TOKEN" ] && [ -n "$AGENT_CERT" ] && trust="$trust --cert $AGENT_CERT --key $AGENT_KEY"
			fi
			# shellcheck disable=SC2086
			code=$(curl -sS --proto '=https' --connect-timeout 10 --max-time 600 --retry 2 $trust \
				-H "@$headers" -o "$out" -w '%{http_code}' "$url" 2>"$WORK/fetch.err") || {
				die "cannot download $url: $(tail -n 1 "$WORK/fetch.err")"
			}
		else
			if [ "${3:-}" = insecure ]; then
				trust="--no-check-certificate"
				wgetrc="$WORK/no-headers"
			else
				trust="--ca-certificate=$WORK/ca.pem"
				wgetrc="$WORK/wgetrc"
				[ -z "$TOKEN" ] && [ -n "$AGENT_CERT" ] && trust="$trust --certificate=$AGENT_CERT --private-key=$AGENT_KEY"
			fi
			code=200
			# shellcheck disable=SC2086
			WGETRC="$wgetrc" wget -q --https-only --timeout=30 --tries=3 --content-on-error $trust \
				-O "$out" "$url" 2>"$WORK/fetch.err" || code=$?
			[ "$code" = 8 ] && code=400  # the server answered with an error
			[ "$code" = 200 ] || [ "$code" = 400 ] || die "cannot download $url (wget exit $code): $(tail -n 1 "$WORK/fetch.err")"
		fi
		if [ "$code" != 200 ]; then
			message=$(head -c 500 "$out" 2>/dev/null | sed -n '1s/^error: //p')
			die "the collector refused $1 (HTTP $code): ${message:-no reason given}"
		fi
	}

	# 1. The collector's CA, checked against the fingerprint.
	fetch /install/ca.pem "$WORK/ca.pem" insecure
	[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/ca.pem")" = 1 ] || die "$DOWNLOAD/install/ca.pem is not one PEM certificate"
	HAVE_FP=$(sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$WORK/ca.pem" | grep -v -- '-----' |
		base64 -d | sha256sum | cut -d' ' -f1)
	if [ "$HAVE_FP" != "$WANT_FP" ]; then
		die "the collector's CA has fingerprint $HAVE_FP, not the $WANT_FP given with --ca-sha256: refusing to trust it (a wrong fingerprint, another collector, or someone in between)"
	fi
	echo "install-agent: collector CA verified ($HAVE_FP)" >&2

	# 2. The package for this architecture.
	[ "$(id -u)" = 0 ] || die "run this as root (sudo sh install-agent.sh ...): it installs a package and starts a service"
	ARCH=$(dpkg --print-architecture)
	fetch /install/packages "$WORK/index"
	LINE=$(awk -v a="$ARCH" '$1 == a { print; exit }' "$WORK/index")
	if [ -z "$LINE" ]; then
		have=$(awk '{ printf "%s%s", sep, $1; sep = ", " }' "$WORK/index")
		die "the collector has no agent package for $ARCH (it has: ${have:-none})"
	fi
	VERSION=$(echo "$LINE" | awk '{ print $2 }')
	SHA256=$(echo "$LINE" | awk '{ print $3 }')
	INSTALLED=$(dpkg-query -W -f='${db:Status-Status} ${Version}' steward-agent 2>/dev/null || true)
	CHANGED=no
	if [ "$INSTALLED" = "installed $VERSION" ]; then
		echo "install-agent: steward-agent $VERSION is installed already" >&2
	else
		echo "install-agent: downloading steward-agent $VERSION for $ARCH" >&2
		fetch "/install/packages/$ARCH.deb" "$WORK/steward-agent.deb"
		GOT=$(sha256sum "$WORK/steward-agent.deb" | cut -d' ' -f1)
		[ "$GOT" = "$SHA256" ] || die "the downloaded package has SHA-256 $GOT, not the collector's $SHA256: not installing it"
		if ! DEBIAN_FRONTEND=noninteractive dpkg --force-confold -i "$WORK/steward-agent.deb" </dev/null >"$WORK/dpkg.log" 2>&1; then
			if command -v apt-get >/dev/null 2>&1 && grep -q 'dependency problems' "$WORK/dpkg.log"; then
				echo "install-agent: installing the agent's dependencies with apt-get" >&2
				DEBIAN_FRONTEND=noninteractive apt-get install -f -y -o Dpkg::Options::=--force-confold </dev/null >>"$WORK/dpkg.log" 2>&1 ||
					die "dpkg could not install the agent and apt-get could not fix it: $(tail -n 3 "$WORK/dpkg.log" | tr '\n' ' ')"
			else
				die "dpkg could not install the agent: $(tail -n 3 "$WORK/dpkg.log" | tr '\n' ' ')"
			fi
		fi
		CHANGED=yes
		# Kept where the agent keeps packages it installed: a later
		# self-update can put this version back (agent/jobs/self_update.h).
		mkdir -p "$STATE_DIR/kept" && chmod 0700 "$STATE_DIR/kept"
		install -m 0600 "$WORK/steward-agent.deb" "$STATE_DIR/kept/steward-agent_${VERSION#0:}.deb"
		echo "install-agent: installed steward-agent $VERSION" >&2
	fi

	# 3. Configuration: the CA, agent.conf, the token (new hosts only).
	mkdir -p "$CONF_DIR"
	if ! cmp -s "$WORK/ca.pem" "$CONF_DIR/ca.pem"; then
		install -m 0644 "$WORK/ca.pem" "$CONF_DIR/ca.pem"
		CHANGED=yes
	fi
	# set_conf KEY VALUE: "KEY = VALUE" in agent.conf, replacing the key's
	# line or its commented example, else appended.
	set_conf() {
		conf="$CONF_DIR/agent.conf"
		[ -f "$conf" ] || : >"$conf"
		if grep -q "^$1[ 	]*=[ 	]*$2\$" "$conf"; then return 0; fi
		awk -v k="$1" -v v="$2" '
			BEGIN { done = 0 }
			!done && ($0 ~ "^" k "[ \t]*=" || $0 ~ "^#" k "[ \t]*=") { print k " = " v; done = 1; next }
			$0 ~ "^" k "[ \t]*=" { next }
			{ print }
			END { if (!done) print k " = " v }' "$conf" >"$conf.new"
		chmod --reference="$conf" "$conf.new" 2>/dev/null || chmod 0644 "$conf.new"
		mv "$conf.new" "$conf"
		CHANGED=yes
	}
	set_conf collector "$COLLECTOR"
	set_conf ca_file "$CONF_DIR/ca.pem"
	set_conf enroll_token_file "$CONF_DIR/token"
	if [ -n "$TRUSTED_KEY" ]; then
		mkdir -p "$CONF_DIR/keys"
		printf '%s\n' "$TRUSTED_KEY" >"$WORK/publisher.pub"
		if ! cmp -s "$WORK/publisher.pub" "$CONF_DIR/keys/publisher.pub"; then
			install -m 0644 "$WORK/publisher.pub" "$CONF_DIR/keys/publisher.pub"
			CHANGED=yes
		fi
		set_conf trusted_key "$CONF_DIR/keys/publisher.pub"
	fi
	if [ -s "$STATE_DIR/agent.id" ]; then
		ENROLLED_BEFORE=yes
		echo "install-agent: enrolled already as agent $(cat "$STATE_DIR/agent.id"); keeping that identity" >&2
	else
		ENROLLED_BEFORE=no
		[ -n "$TOKEN" ] || die "an enrollment token is required for a host that is not enrolled: --token, --token-file or STEWARD_TOKEN"
		(umask 077 && printf '%s\n' "$TOKEN" >"$CONF_DIR/token.new" && mv "$CONF_DIR/token.new" "$CONF_DIR/token")
		CHANGED=yes
	fi

	# 4. Start (or restart after a change) and wait for the enrollment.
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl enable steward-agent >/dev/null 2>&1 || true
		if [ "$CHANGED" = yes ]; then systemctl restart steward-agent; else systemctl start steward-agent; fi
		how="systemd (journalctl -u steward-agent)"
	else
		running=no
		if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then running=yes; fi
		if [ "$running" = yes ] && [ "$CHANGED" = yes ]; then
			start-stop-daemon --stop --quiet --pidfile "$PIDFILE" --retry 10 || true
			running=no
		fi
		if [ "$running" = no ]; then
			start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" \
				--startas /bin/sh -- -c "exec $AGENT_BIN </dev/null >>$LOGFILE 2>&1"
		fi
		how="in the background, no systemd here (log: $LOGFILE)"
	fi
	waited=0
	while [ ! -s "$STATE_DIR/agent.id" ]; do
		if [ "$waited" -ge "$WAIT" ]; then
			die "the agent did not enroll within ${WAIT}s; its log says: $(tail -n 3 "$LOGFILE" 2>/dev/null | tr '\n' ' ')"
		fi
		if [ -s "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null && [ ! -d /run/systemd/system ]; then
			die "the agent stopped before it enrolled: $(tail -n 3 "$LOGFILE" 2>/dev/null | tr '\n' ' ')"
		fi
		sleep 1
		waited=$((waited + 1))
	done
	AGENT_ID=$(cat "$STATE_DIR/agent.id")
	if [ "$ENROLLED_BEFORE" = yes ] && [ "$CHANGED" = no ]; then RESULT=already; else RESULT=installed; fi
	echo "install-agent: agent $AGENT_ID runs $how" >&2
	echo "STEWARD-INSTALL: result=$RESULT agent_id=$AGENT_ID hostname=$MACHINE version=$VERSION"
}

main "$@"
