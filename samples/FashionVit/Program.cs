using FashionVit.Cli;
using OneLoRA.Training.Cli;

// See FashionVitCli: no command = pretrain (cached) + 1LoRA fine-tune on the default split, then the results table.
// Parse errors are one line each and exit code 2 (CommandLineRunner), like every invalid value.
return CommandLineRunner.Invoke(FashionVitCli.Create(), args);
