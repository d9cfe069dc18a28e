using TextClassify.Cli;

// See TextClassifyCli: no command = fine-tune MiniLM with 1LoRA on WordNet noun supersenses, then the results table.
return TextClassifyCli.Run(args);
