#!/usr/bin/env bash
# Consumer check (issue 14), called by .ci/run: packs the two shipping packages to a local feed, then, in an empty
# folder outside the repository, restores, builds and runs
#   app/        [Peft] + DI + analyzers on net10.0 and net8.0 (run self-contained, so on a real .NET 8 runtime):
#               the build output must carry OLORA001 for the
#               unadapted `gate` Linear; each run must print "consumer OK" (adapters reach forward(), merged equals
#               unmerged) and exit 0;
#   noruntime/  an app without a native TorchSharp runtime: the build must warn OLORA101 naming the runtime
#               packages, and the run must fail with TorchRuntime's explanation naming them (no repository advice).
# The packages get a unique prerelease package version per run (0.2.0-ci.<time>), so the global NuGet cache never serves a
# stale copy; those cache entries are removed at the end. Exit 0 when every check passed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

base=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n 1)
version="$base-ci.$(date -u +%Y%m%d%H%M%S)"
work=$(mktemp -d)
packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
cleanup() {
  rm -rf "$work" "$packages/onelora/$version" "$packages/onelora.dependencyinjection/$version"
}
trap cleanup EXIT
case "$work" in "$repo"/*) echo "consumer: $work lies inside the repository" >&2; exit 1 ;; esac

failures=0
fail() { echo "consumer check FAILED: $*" >&2; failures=$((failures + 1)); }
step() { echo "== consumer: $* ($(date -u +%T))"; }

step "pack OneLoRA $version to $work/feed"
for project in src/OneLoRA/OneLoRA.csproj src/OneLoRA.DependencyInjection/OneLoRA.DependencyInjection.csproj; do
  # Debug and PackageVersion only (assembly versions unchanged): reuses what .ci/run's `dotnet test` just built.
  dotnet pack "$repo/$project" -c Debug -p:PackageVersion="$version" -o "$work/feed" -v q -nologo
done
count=$(ls "$work/feed"/*.nupkg | wc -l)
[ "$count" -eq 2 ] || fail "expected 2 packages in the feed, found $count"

cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<!-- The local feed on top of the machine's normal sources (not cleared). -->
<configuration>
  <packageSources>
    <add key="onelora-local" value="$work/feed" />
  </packageSources>
</configuration>
XML
cp -r "$repo/.ci/consumer/app" "$work/app"
cp -r "$repo/.ci/consumer/noruntime" "$work/noruntime"
# Hard links instead of copies of libtorch's ~500 MB per target framework: CI time only, same files.
props=(-c Release -p:OneLoRAVersion="$version" -p:CreateHardLinksForCopyLocalIfPossible=true -nologo)

step "build app (net10.0, net8.0)"
if dotnet build "$work/app/Consumer.csproj" "${props[@]}" > "$work/app-build.log" 2>&1; then
  grep -E "warning OLORA001.*gate" "$work/app-build.log" | sort -u | head -n 2 || true
  grep -qE "warning OLORA001.*gate" "$work/app-build.log" || fail "OLORA001 for the unadapted 'gate' is not in the build output"
  if grep -q "OLORA101" "$work/app-build.log"; then fail "OLORA101 reported although the app references libtorch-cpu-linux-x64"; fi
  step "run app on net10.0"
  dotnet "$work/app/bin/Release/net10.0/Consumer.dll" || fail "the net10.0 consumer run exited $?"
  step "run app on net8.0 (self-contained: the .NET 8 runtime whatever this machine has installed)"
  if dotnet publish "$work/app/Consumer.csproj" -c Release -f net8.0 -r linux-x64 --self-contained true -p:OneLoRAVersion="$version" \
       -p:CreateHardLinksForPublishFilesIfPossible=true -p:CreateHardLinksForCopyLocalIfPossible=true -o "$work/publish8" -v q -nologo > "$work/publish8.log" 2>&1; then
    "$work/publish8/Consumer" || fail "the net8.0 consumer run exited $?"
  else
    tail -n 20 "$work/publish8.log" >&2
    fail "the net8.0 consumer did not publish"
  fi
  # The GLIBCXX fix in the consumer's outputs: patched (readelf, independent of our code), not redone by a no-op
  # build, and present in a publish output too.
  lib="$work/app/bin/Release/net10.0/runtimes/linux-x64/native/libLibTorchSharp.so"
  if command -v readelf >/dev/null 2>&1; then
    readelf -W -V "$lib" | grep "Name: GLIBCXX_3.4.32  Flags: WEAK" > /dev/null || fail "libLibTorchSharp.so in the build output is not patched"
  fi
  step "no-op rebuild of app (net10.0)"
  dotnet build "$work/app/Consumer.csproj" "${props[@]}" -f net10.0 --no-restore -v n > "$work/noop.log" 2>&1 || fail "the no-op rebuild failed"
  if grep -E "libLibTorchSharp\.so" "$work/noop.log" | grep -E "Copying file|hard link|OneLoRA: " > /dev/null; then
    fail "a no-op build re-copied or re-patched libLibTorchSharp.so"
  fi
  step "publish app (net10.0, linux-x64)"
  if dotnet publish "$work/app/Consumer.csproj" -c Release -f net10.0 -r linux-x64 --self-contained false -p:OneLoRAVersion="$version" \
       -p:CreateHardLinksForPublishFilesIfPossible=true -p:CreateHardLinksForCopyLocalIfPossible=true -o "$work/publish" -v q -nologo > "$work/publish.log" 2>&1; then
    if command -v readelf >/dev/null 2>&1; then
      readelf -W -V "$work/publish/libLibTorchSharp.so" | grep "Name: GLIBCXX_3.4.32  Flags: WEAK" > /dev/null || fail "libLibTorchSharp.so in the publish output is not patched"
    fi
    "$work/publish/Consumer" | tail -n 1 || fail "the published consumer exited $?"
  else
    tail -n 20 "$work/publish.log" >&2
    fail "the consumer app did not publish"
  fi
else
  tail -n 40 "$work/app-build.log" >&2
  fail "the consumer app did not build"
fi

step "build noruntime"
if dotnet build "$work/noruntime/NoRuntime.csproj" "${props[@]}" > "$work/noruntime-build.log" 2>&1; then
  grep -E "warning OLORA101" "$work/noruntime-build.log" | sort -u | head -n 1 || true
  grep -qE "warning OLORA101.*libtorch-cpu-linux-x64.*TorchSharp-cuda-linux" "$work/noruntime-build.log" \
    || fail "OLORA101 naming the runtime packages is not in the build output of an app without a runtime"
  step "run noruntime"
  set +e
  out=$(dotnet "$work/noruntime/bin/Release/net10.0/NoRuntime.dll" 2>&1); rc=$?
  set -e
  echo "$out" | grep -E "^TorchSharp's native library|must reference one native" | cut -c1-300 || true
  [ "$rc" -eq 3 ] || fail "the app without a runtime exited $rc, expected 3 (TorchSharpLoadException)"
  # TorchSharp's own text names libtorch-cpu-linux-x64 too; these are TorchRuntime's words.
  echo "$out" | grep -q "must reference one native TorchSharp runtime package: libtorch-cpu-linux-x64.*TorchSharp-cuda-linux" \
    || fail "TorchRuntime's explanation does not name the runtime packages"
  if echo "$out" | grep -q "TorchBackend"; then fail "TorchRuntime's explanation gives repository-only advice (TorchBackend)"; fi
else
  tail -n 40 "$work/noruntime-build.log" >&2
  fail "the app without a runtime did not build"
fi

if [ "$failures" -ne 0 ]; then echo "consumer check: $failures failure(s)" >&2; exit 1; fi
echo "consumer check passed"
