// Fixtures for tools/peft-roundtrip/roundtrip.py, and the check of what PEFT wrote back.
//   dotnet run --project tools/peft-roundtrip/export -- export <dir>   writes <dir>/ours/...
//   dotnet run --project tools/peft-roundtrip/export -- check <dir>    loads <dir>/peft/<case>/ with FromPretrained
// Exit codes: 0 all outputs agree, 1 some output differs, 2 usage or a missing/invalid file.
using OneLoRA;
using OneLoRA.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

const double Tolerance = 1e-5;

if (args.Length != 2 || args[0] is not ("export" or "check"))
{
    Console.Error.WriteLine("usage: PeftRoundtrip export|check <directory>");
    return 2;
}
var root = args[1];
try
{
    return args[0] == "export" ? Export(root) : Check(root);
}
catch (Exception e) when (e is IOException or AdapterLoadException or SafetensorsFormatException or InvalidOperationException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

static int Export(string root)
{
    var ours = Path.Combine(root, "ours");
    Directory.CreateDirectory(ours);
    using (var plain = new Net())
        plain.SaveWeights(Path.Combine(root, "base.safetensors"));
    using var input = Net.Input();
    Safetensors.Save(Path.Combine(root, "input.safetensors"), [("x", input)]);

    var cases = new (string Name, PeftOptions Options)[]
    {
        ("lora", new() { Method = "LoRA", Rank = 4, Alpha = 8 }),
        ("lora_rslora_bias", new() { Method = "LoRA", Rank = 4, Alpha = 8, UseRsLoRA = true, TrainBiases = true, TrainNorms = true }),
        ("lora_patterns", new() { Method = "LoRA", Rank = 4, Alpha = 8, RankPattern = new() { ["fc2"] = 2 }, AlphaPattern = new() { ["fc1"] = 3 } }),
        ("dora", new() { Method = "DoRA", Rank = 4, Alpha = 4 }),
        ("vera", new() { Method = "VeRA", Rank = 8, ProjectionPrngKey = 123 }),
        ("vera_no_projection", new() { Method = "VeRA", Rank = 8, ProjectionPrngKey = 123, VeRASaveProjection = false }),
    };
    ulong seed = 100;
    foreach (var (name, options) in cases)
    {
        using var model = new Net();
        var attachment = PeftModel.Attach(model, options);
        Randomize(attachment, seed++, keepShared: name == "vera_no_projection");
        var dir = Path.Combine(ours, name);
        model.SaveAdapters(dir);
        using var y = model.Output(input);
        Safetensors.Save(Path.Combine(dir, "expected_output.safetensors"), [("y", y)]);
        Console.WriteLine($"wrote {dir}");
    }
    return 0;
}

static int Check(string root)
{
    using var input = Safetensors.Load(Path.Combine(root, "input.safetensors"))["x"];
    var peft = Path.Combine(root, "peft");
    int failures = 0;
    foreach (var dir in Directory.GetDirectories(peft).Order(StringComparer.Ordinal))
    {
        using var model = new Net();
        model.LoadWeights(Path.Combine(root, "base.safetensors"));
        PeftModel.FromPretrained(model, dir);
        using var expected = Safetensors.Load(Path.Combine(dir, "peft_output.safetensors"))["y"];
        using var actual = model.Output(input);
        double diff = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();
        bool ok = diff <= Tolerance;
        failures += ok ? 0 : 1;
        Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {Path.GetFileName(dir)}: max |ours - peft| = {diff:E2}");
    }
    return failures == 0 ? 0 : 1;
}

static void Randomize(PeftAttachment attachment, ulong seed, bool keepShared)
{
    using var g = new Generator(seed, device: CPU);
    using var scope = NewDisposeScope();
    var shared = attachment.Layers.SelectMany(l => l.Adapter.SharedTensors()).Select(t => t.Tensor.Handle).ToHashSet();
    using (no_grad())
        foreach (var (_, t) in attachment.AdapterStateDict())
            if (t.is_floating_point() && !(keepShared && shared.Contains(t.Handle)))
                t.copy_(randn(t.shape, generator: g).mul_(0.3).to(t.dtype));
}

/// <summary>fc1 (16→32) → LayerNorm → ReLU → fc2 (32→8); roundtrip.py builds the same torch module with the same names.</summary>
internal sealed class Net : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly LayerNorm norm;
    private readonly Linear fc2;

    public Net() : base("Net")
    {
        fc1 = nn.Linear(16, 32);
        norm = nn.LayerNorm(32);
        fc2 = nn.Linear(32, 8);
        RegisterComponents();
        using var g = new Generator(1, device: CPU);
        using (no_grad())
            foreach (var p in parameters())
                p.copy_(randn(p.shape, generator: g).mul_(0.5));
    }

    public override Tensor forward(Tensor x) => fc2.call(nn.functional.relu(norm.call(fc1.call(x))));

    public Tensor Output(Tensor x)
    {
        eval();
        using (no_grad()) return call(x);
    }

    public static Tensor Input()
    {
        using var g = new Generator(7, device: CPU);
        return randn([10, 16], generator: g);
    }
}
