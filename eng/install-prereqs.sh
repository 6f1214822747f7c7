#!/usr/bin/env bash
# Installs what the local stack and the tests need, and nothing that is already there:
#   PostgreSQL 15 server, pgvector 0.8 (binary package if one exists, else built from the
#   Debian source package), RabbitMQ server; with --with-browser also Debian's chromium (for the browser
#   test, which drives it through Microsoft.Playwright); with --with-mariadb also Debian's MariaDB 10.11 server (for the
#   MySQL sync-source tests, which start their own mariadbd; the package's own service is kept from starting); with
#   --with-wrk also Debian's wrk (the load generator of tools/Load). Safe
#   to run any number of times. Needs root.
set -euo pipefail

WITH_BROWSER=0
WITH_MARIADB=0
WITH_WRK=0
for arg in "$@"; do
  case $arg in
    --with-browser) WITH_BROWSER=1 ;;
    --with-mariadb) WITH_MARIADB=1 ;;
    --with-wrk) WITH_WRK=1 ;;
    *) echo "usage: install-prereqs.sh [--with-browser] [--with-mariadb] [--with-wrk]" >&2; exit 2 ;;
  esac
done

log() { printf '[install-prereqs] %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi

PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
}
apt_install() {
  apt_update_once
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL server
if [[ -x $PG_BIN/postgres ]]; then
  log "PostgreSQL $PG_MAJOR server: present"
else
  apt_install "postgresql-$PG_MAJOR"
fi

# pgvector
if [[ -f /usr/share/postgresql/$PG_MAJOR/extension/vector.control ]]; then
  log "pgvector: present ($(grep default_version /usr/share/postgresql/$PG_MAJOR/extension/vector.control | tr -d "'" | awk '{print $3}'))"
else
  apt_update_once
  if apt-cache show "postgresql-$PG_MAJOR-pgvector" >/dev/null 2>&1 \
     && apt-cache policy "postgresql-$PG_MAJOR-pgvector" | grep -q 'Candidate: 0\.[8-9]'; then
    apt_install "postgresql-$PG_MAJOR-pgvector"
  else
    log "pgvector: no binary package >= 0.8 for PostgreSQL $PG_MAJOR; building from the Debian (trixie) source package"
    SRC_LIST=/etc/apt/sources.list.d/vectorpipeline-trixie-src.sources
    if [[ ! -f $SRC_LIST ]]; then
      # Same mirror and keyring as the machine's own Debian entry; source packages only.
      URI=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      KEYRING=$(awk '/^Signed-By:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      URI=${URI:-http://deb.debian.org/debian}
      KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
      printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$URI" "$KEYRING" | $SUDO tee "$SRC_LIST" >/dev/null
      APT_UPDATED=0
    fi
    apt_install "postgresql-server-dev-$PG_MAJOR" dpkg-dev make gcc
    BUILD_DIR=$(mktemp -d)
    trap 'rm -rf "$BUILD_DIR"' EXIT
    (
      cd "$BUILD_DIR"
      apt-get source --download-only pgvector >/dev/null 2>&1
      tar xzf pgvector_*.orig.tar.gz
      cd pgvector-*/
      # OPTFLAGS="" keeps -march=native out, so the library runs on any x86-64.
      make -s OPTFLAGS="" PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" >/dev/null
      $SUDO make -s install PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" >/dev/null
    )
    log "pgvector: built and installed"
  fi
fi

# RabbitMQ
if command -v rabbitmq-server >/dev/null 2>&1 || [[ -x /usr/sbin/rabbitmq-server ]]; then
  log "RabbitMQ server: present"
else
  apt_install rabbitmq-server
fi

# wrk (tools/Load only)
if [[ $WITH_WRK -eq 1 ]]; then
  if command -v wrk >/dev/null 2>&1; then
    log "wrk: present"
  else
    apt_install wrk
  fi
fi

# MariaDB (MySQL sync-source tests only; they start their own mariadbd, the package's own service must not run)
if [[ $WITH_MARIADB -eq 1 ]]; then
  if command -v mariadbd >/dev/null 2>&1; then
    log "MariaDB server: present"
  else
    # policy-rc.d exit 101 is Debian's way to tell maintainer scripts not to start services (no systemd here).
    POLICY=/usr/sbin/policy-rc.d
    OWN_POLICY=0
    if [[ ! -e $POLICY ]]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
      $SUDO chmod 755 "$POLICY"
      OWN_POLICY=1
    fi
    apt_install mariadb-server
    if [[ $OWN_POLICY -eq 1 ]]; then
      $SUDO rm -f "$POLICY"
    fi
  fi
  # Should a package script have started the Debian service anyway, stop it (it would hold port 3306).
  if [[ -x /etc/init.d/mariadb ]] && /etc/init.d/mariadb status >/dev/null 2>&1; then
    log "MariaDB: stopping the service the package started"
    $SUDO /etc/init.d/mariadb stop >/dev/null || true
  fi
fi

# Chromium (browser test only)
if [[ $WITH_BROWSER -eq 1 ]]; then
  if [[ -x /usr/bin/chromium ]]; then
    log "chromium: present"
  else
    apt_install chromium
  fi
fi

log "done"
