#!/usr/bin/env bash
# Experiment behind the GLIBCXX note in src/OneLoRA/buildTransitive/OneLoRA.targets (needs gcc; not part of CI).
# Builds two stand-ins for libstdc++.so.6 — "new" defines _ZSt21ios_base_library_initv at GLIBCXX_3.4.32, "old"
# stops at GLIBCXX_3.4 — and a library linked against "new" that references the symbol at GLIBCXX_3.4.32 (with a
# relocation, a stronger case than libLibTorchSharp's, which has none). The repository's patcher
# (GlibcxxCompatPatch.CopyPatched) writes a patched copy; glibc's ld.so then loads each copy against each stand-in.
# Expected: unpatched + new loads and binds the symbol; unpatched + old fails (version not found);
# patched + new loads and binds the same definition [GLIBCXX_3.4.32]; patched + old loads, the symbol is 0.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cd "$w"; mkdir new old
cat > std.c <<'C'
void _ZSt21ios_base_library_initv(void) {}
int glibcxx_base_symbol(void) { return 1; }
C
printf 'GLIBCXX_3.4 { global: glibcxx_base_symbol; local: *; };\nGLIBCXX_3.4.32 { global: _ZSt21ios_base_library_initv; } GLIBCXX_3.4;\n' > new.map
printf 'GLIBCXX_3.4 { global: glibcxx_base_symbol; local: *; };\n' > old.map
gcc -shared -fPIC -o new/libstdc++.so.6 -Wl,-soname,libstdc++.so.6 -Wl,--version-script=new.map std.c
echo 'int glibcxx_base_symbol(void) { return 1; }' > old.c
gcc -shared -fPIC -o old/libstdc++.so.6 -Wl,-soname,libstdc++.so.6 -Wl,--version-script=old.map old.c
cat > user.c <<'C'
extern void _ZSt21ios_base_library_initv(void);
extern int glibcxx_base_symbol(void);
void *volatile marker = (void *)&_ZSt21ios_base_library_initv;   /* data relocation: the reference survives -O */
int marker_address_is_set(void) { return marker != 0; }
int base(void) { return glibcxx_base_symbol(); }
C
gcc -shared -fPIC -o libuser.so user.c -Lnew -l:libstdc++.so.6
cat > main.c <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { printf("dlopen failed: %s\n", dlerror()); return 2; }
  int (*f)(void) = (int (*)(void))dlsym(h, "marker_address_is_set");
  int (*b)(void) = (int (*)(void))dlsym(h, "base");
  printf("loaded; marker resolved: %d; base call: %d\n", f(), b());
  return 0;
}
C
gcc -o main main.c -ldl
# The repository's patcher, compiled as it is into a throwaway console app.
mkdir patcher
cat > patcher/Patcher.csproj <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><DefineConstants>ONELORA_PATCHER_NO_TASK</DefineConstants></PropertyGroup>
  <ItemGroup><Compile Include="$repo/src/OneLoRA/buildTransitive/GlibcxxCompatPatch.cs" /></ItemGroup>
</Project>
XML
echo 'System.Console.WriteLine(OneLoRA.Build.GlibcxxCompatPatch.CopyPatched(args[0], args[1]));' > patcher/Program.cs
dotnet run --project patcher -v q -- "$w/libuser.so" "$w/libuser.patched.so"
readelf -W -V libuser.patched.so | grep "Name: GLIBCXX_3.4.32" | sed 's/^/  verneed: /' || true
readelf -W --dyn-syms libuser.patched.so | grep ios_base_library | sed 's/^/  dynsym: /' || true
for lib in libuser.so libuser.patched.so; do
  for std in new old; do
    printf '%-20s + %s libstdc++: ' "$lib" "$std"
    LD_LIBRARY_PATH="$w/$std" ./main "$w/$lib" || true
    if [ "$std" = new ]; then
      LD_LIBRARY_PATH="$w/$std" LD_DEBUG=bindings ./main "$w/$lib" 2>&1 | grep "ios_base_library_initv" | sed 's/^ *[0-9]*: */    ld.so: /' || true
    fi
  done
done
