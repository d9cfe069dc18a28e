namespace OneLoRA;

/// <summary>The built-in parameter-efficient fine-tuning methods.</summary>
public enum Method
{
    /// <summary>1LoRA (Quercia et al. 2025): W0·x + b·(1ᵀx), one vector b per layer.</summary>
    OneLoRA,
    /// <summary>LoRA (Hu et al. 2021): W0·x + s·B·A·x.</summary>
    LoRA,
    /// <summary>VeRA (Kopiczko et al. 2024): shared frozen random A, B with trainable scaling vectors.</summary>
    VeRA,
    /// <summary>DoRA (Liu et al. 2024): LoRA on the direction, a trainable magnitude per output row.</summary>
    DoRA,
    /// <summary>MoRA (Jiang et al. 2024): square matrix between fixed compression and decompression.</summary>
    MoRA,
    /// <summary>BitFit (Ben Zaken et al. 2022): only biases are trained.</summary>
    BitFit,
    /// <summary>DiffFit (Xie et al. 2023): a scale γ and bias β per layer, plus norm layers.</summary>
    DiffFit,
    /// <summary>Full fine-tuning: every parameter is trained (the paper's "All" baseline).</summary>
    Full,
    /// <summary>Adds nothing to the layers; with TrainNorms / TrainBiases / TrainScale it is the paper's "norms", "β", "γ" ablation rows.</summary>
    None,
}

/// <summary>How MoRA chooses the size r̂ of its square matrix.</summary>
public enum MoRARankRule
{
    /// <summary>The 1LoRA paper's comparison (reproduces its Tables S9/S10): r̂ = round(√d), about d parameters like 1LoRA; type 6 rounds down to even.</summary>
    Paper,
    /// <summary>MoRA's own code: r̂ = round(√((k+d)·r)), forced even for type 6.</summary>
    MoRA,
    /// <summary>r̂ = ⌊√d⌋ (this library's Paper rule before 0.2.0; never more parameters than 1LoRA's d); type 6 rounds down to even.</summary>
    Floor,
}
