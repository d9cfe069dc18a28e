// Method switching by configuration: appsettings.json's "Peft" section (or Peft__Method=LoRA in the
// environment) chooses the PEFT method of an annotated model and of a third-party model attached at run time.
//
//   dotnet run --project samples/MethodSwitch                                  # 1LoRA (appsettings.json)
//   Peft__Method=LoRA Peft__Rank=4 dotnet run --project samples/MethodSwitch
//   Peft__Method=DoRA dotnet run --project samples/MethodSwitch                # any built-in name or alias:
//       OneLoRA, LoRA, DoRA, VeRA, MoRA1, MoRA6, BitFit, DiffFit, Full (see README's method table)
//   Peft__Method=OutputScale dotnet run --project samples/MethodSwitch         # the plugin from samples/PluginMethod
//   Training__PretrainSteps=20 Training__FineTuneSteps=20 dotnet run ...       # shorter runs
//
// Exit codes: 0 success; 2 invalid configuration (unknown key such as Peft__Colour, a value of the wrong type or out
// of range, an unknown method), printed as one line naming the key; 3 a valid configuration that cannot be applied
// (e.g. Peft__Targets matching no layer of the third-party model).

using System;
using OneLoRA.Samples.MethodSwitch;

return MethodSwitchApp.Run(MethodSwitchApp.DefaultConfiguration(), Console.Error).ExitCode;
