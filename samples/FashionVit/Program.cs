using FashionVit.Cli;

// See FashionVitCli: no command = pretrain (cached) + 1LoRA fine-tune on the default split, then the results table.
return FashionVitCli.Create().Parse(args).Invoke();
