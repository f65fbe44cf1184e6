#!/usr/bin/env bash
# The real Flyway (open-source edition), run beside the bootstrap provider as the tests' reference.
# Usage:
#   tests/infra/flyway.sh fetch          fetch it once with Maven into the cache (a no-op when cached)
#   tests/infra/flyway.sh path           print the Java classpath (fetching first if needed)
#   tests/infra/flyway.sh run ARGS...    run Flyway's own command line, e.g.
#     tests/infra/flyway.sh run migrate -url=jdbc:postgresql://127.0.0.1:55432/db -user=u -password=p -locations=filesystem:DIR
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster/flyway-<version>/, keyed by version; PDC_TOOLS_CACHE
# moves the whole cache (as for scripts/pulumi.sh), PDC_FLYWAY_VERSION picks another served version.
#
# Only the PostgreSQL pieces are fetched: flyway-commandline with its transitive dependencies excluded (it pulls in every
# database's driver and artifacts Maven Central does not serve, e.g. flyway-command-mcp), plus flyway-core,
# flyway-core-utilities, flyway-database-postgresql, the PostgreSQL JDBC driver and the libraries the command line
# reads its configuration with. The command-line jar registers one plugin that needs flyway-command-mcp (an MCP
# server); a copy of the jar without that one registration is what runs. Nothing else of Flyway is changed.
set -euo pipefail
VERSION=${PDC_FLYWAY_VERSION:-13.12.2}
PG_DRIVER=${PDC_FLYWAY_PG_DRIVER:-42.7.14}
CACHE_ROOT=${PDC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster}
CACHE=$CACHE_ROOT/flyway-$VERSION
# Bump when the recipe below changes, so a cache made by an older recipe is rebuilt.
RECIPE=1
STAMP="$CACHE/.complete-$RECIPE-$PG_DRIVER"

need_tools() {
  local pkgs=()
  command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
  command -v jar >/dev/null || pkgs+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  echo "flyway.sh: apt-get install ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/tmp/pdc-flyway-apt.log 2>&1 || { tail -30 /tmp/pdc-flyway-apt.log >&2; exit 1; }
}

fetch() {
  [ -f "$STAMP" ] && return 0
  need_tools
  mkdir -p "$CACHE_ROOT"
  # One fetch at a time (tests and setup may start together); the loser finds the stamp and returns.
  exec 9>"$CACHE_ROOT/.flyway-$VERSION.lock"
  flock 9
  [ -f "$STAMP" ] && return 0
  local t0=$SECONDS work="$CACHE.tmp"
  rm -rf "$work"; mkdir -p "$work"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pdc</groupId><artifactId>flyway-oracle</artifactId><version>1</version><packaging>pom</packaging>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-parent</artifactId><version>$VERSION</version><type>pom</type><scope>import</scope></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-commandline</artifactId><version>$VERSION</version>
      <exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions></dependency>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-core</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-core-utilities</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-database-postgresql</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId><version>$PG_DRIVER</version></dependency>
    <dependency><groupId>org.apache.commons</groupId><artifactId>commons-text</artifactId></dependency>
    <dependency><groupId>tools.jackson.core</groupId><artifactId>jackson-databind</artifactId></dependency>
    <dependency><groupId>tools.jackson.dataformat</groupId><artifactId>jackson-dataformat-toml</artifactId></dependency>
    <dependency><groupId>tools.jackson.dataformat</groupId><artifactId>jackson-dataformat-xml</artifactId></dependency>
  </dependencies>
</project>
EOF
  # The local Maven repository is shared by versions, so a version bump downloads only what changed.
  mvn -q -B -f "$work/pom.xml" -Dmaven.repo.local="$CACHE_ROOT/maven-repo" \
    dependency:copy-dependencies -DoutputDirectory="$work/lib" >"$work/mvn.log" 2>&1 \
    || { tail -30 "$work/mvn.log" >&2; echo "flyway.sh: Maven could not fetch Flyway $VERSION (log: $work/mvn.log)" >&2; exit 1; }
  local cl="$work/lib/flyway-commandline-$VERSION.jar" svc=META-INF/services/org.flywaydb.core.extensibility.Plugin
  mkdir -p "$work/patch"
  (cd "$work/patch" && jar xf "$cl" "$svc" && grep -v 'McpConfigurationLoader' "$svc" >"$svc.new" || true
   mv "$svc.new" "$svc" && jar uf "$cl" "$svc")
  rm -rf "$CACHE"; mv "$work" "$CACHE"
  ls "$CACHE"/lib/*.jar | tr '\n' ':' | sed 's/:$//' >"$CACHE/classpath"
  # Prove it starts before calling the cache good.
  java -cp "$(cat "$CACHE/classpath")" org.flywaydb.commandline.Main version >"$CACHE/version.log" 2>&1 \
    || { cat "$CACHE/version.log" >&2; echo "flyway.sh: Flyway $VERSION does not start" >&2; exit 1; }
  touch "$STAMP"
  echo "flyway.sh: Flyway $VERSION fetched into $CACHE in $(( SECONDS - t0 ))s" >&2
}

case "${1:-}" in
fetch) fetch ;;
path) fetch; cat "$CACHE/classpath"; echo ;;
run)
  shift; fetch
  # TieredStopAtLevel=1: a short-lived JVM starts faster with the C1 compiler only.
  exec java -XX:TieredStopAtLevel=1 -cp "$(cat "$CACHE/classpath")" org.flywaydb.commandline.Main "$@"
  ;;
*) echo "usage: $0 fetch|path|run ARGS..." >&2; exit 2 ;;
esac
