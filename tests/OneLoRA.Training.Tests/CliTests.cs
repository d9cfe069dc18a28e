using System;
using System.CommandLine;
using System.IO;
using OneLoRA.Training.Cli;
using Xunit;

namespace OneLoRA.Training.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("onelora-training-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private sealed record Parsed(double? Lr, double Alpha, int Steps, long Seed);

    /// <summary>A job-like command line: options with and without defaults, a subcommand; the action echoes the values.</summary>
    private static (RootCommand Root, Func<Parsed?> Last) Job()
    {
        Parsed? last = null;
        var root = new RootCommand("test job");
        var lr = new Option<double?>("--lr");
        var alpha = new Option<double>("--alpha") { DefaultValueFactory = _ => 1.5 };
        var steps = new Option<int>("--steps", "-s") { DefaultValueFactory = _ => 7 };
        var seed = new Option<long>("--seed");
        var sub = new Command("finetune");
        var subSteps = new Option<int>("--steps") { DefaultValueFactory = _ => 9 };
        foreach (var o in new Option[] { lr, alpha, steps, seed }) root.Add(o);
        sub.Add(subSteps);
        root.Add(sub);
        root.SetAction(r => { last = new Parsed(r.GetValue(lr), r.GetValue(alpha), r.GetValue(steps), r.GetValue(seed)); return 0; });
        sub.SetAction(r => { last = new Parsed(null, 0, r.GetValue(subSteps), 0); return 0; });
        return (root.UseClearNumberErrors(), () => last);
    }

    private static (int Code, string Output, string Error) Run(RootCommand root, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CommandLineRunner.Invoke(root, args, new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("--lr|abc", "error: --lr: 'abc' is not a number.")]
    [InlineData("--alpha|1,5", "error: --alpha: '1,5' is not a number.")]
    [InlineData("--steps|2.5", "error: --steps: '2.5' is not a whole number.")]
    [InlineData("-s|ten", "error: --steps: 'ten' is not a whole number.")]
    [InlineData("--seed|99999999999999999999", "error: --seed: '99999999999999999999' is not a whole number.")]
    [InlineData("finetune|--steps|x", "error: --steps: 'x' is not a whole number.")]
    public void A_malformed_number_is_one_line_naming_the_option_and_exit_code_2(string args, string expected)
    {
        var (root, last) = Job();
        var (code, output, error) = Run(root, args.Split('|'));
        Assert.Equal(ExitCodes.InvalidOption, code);
        Assert.Equal(expected, error.Split('\n')[0].TrimEnd('\r'));
        Assert.DoesNotContain("System.", error);
        Assert.DoesNotContain("Usage:", output + error);   // no help text dumped
        Assert.Null(last());
    }

    [Fact]
    public void Unknown_options_are_exit_code_2_too()
    {
        var (root, _) = Job();
        var (code, _, error) = Run(root, "--colour", "red");
        Assert.Equal(ExitCodes.InvalidOption, code);
        Assert.Contains("--colour", error);
    }

    [Fact]
    public void Numbers_parse_invariantly_and_absent_options_keep_their_defaults()
    {
        var (root, last) = Job();
        Assert.Equal(0, Run(root).Code);
        Assert.Equal(new Parsed(null, 1.5, 7, 0), last());
        Assert.Equal(0, Run(root, "--lr", "2e-3", "--alpha", "-0.25", "-s", "12", "--seed", "-3").Code);
        Assert.Equal(new Parsed(2e-3, -0.25, 12, -3), last());
        Assert.Equal(0, Run(root, "finetune").Code);
        Assert.Equal(9, last()!.Steps);
    }

    [Fact]
    public void Guard_maps_option_errors_to_2_user_failures_to_1_and_lets_bugs_through()
    {
        var error = new StringWriter();
        Assert.Equal(2, CommandLineRunner.Guard(() => throw new OptionException("--x 3: must be at least 4."), error));
        Assert.Equal(1, CommandLineRunner.Guard(() => throw new FileNotFoundException("data file /d/x not found"), error));
        Assert.Equal(1, CommandLineRunner.Guard(() => throw new NonFiniteLossException("train", 4, double.NaN, "--lr"), error));
        Assert.Equal(1, CommandLineRunner.Guard(() => throw new FormatException("custom"), error, e => e is FormatException));
        Assert.Throws<NullReferenceException>(() => CommandLineRunner.Guard(() => throw new NullReferenceException(), error));
        Assert.Equal(
            ["error: --x 3: must be at least 4.", "error: data file /d/x not found", "error: train: the loss became NaN at step 4; lower the learning rate (--lr).", "error: custom", ""],
            error.ToString().Split(Environment.NewLine));
        Assert.Equal(0, CommandLineRunner.Guard(() => 0, error));
    }

    [Fact]
    public void A_directory_under_a_file_is_refused_naming_the_option_and_path()
    {
        var e = Assert.Throws<OptionException>(() => Locations.RequireWritableDirectory("--cache", "/dev/null/x"));
        Assert.StartsWith("--cache /dev/null/x: ", e.Message);
        Assert.Contains("'/dev/null'", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void An_existing_file_is_not_an_output_directory()
    {
        var file = Path.Combine(directory, "results.txt");
        File.WriteAllText(file, "keep me");
        var e = Assert.Throws<OptionException>(() => Locations.RequireWritableDirectory("--out", file));
        Assert.Equal($"--out {file}: this is an existing file; expected a directory.", e.Message);
        Assert.Equal("keep me", File.ReadAllText(file));
        var nested = Path.Combine(file, "a", "b");
        Assert.Contains($"'{file}' is a file", Assert.Throws<OptionException>(() => Locations.RequireWritableDirectory("--out", nested)).Message);
    }

    [Fact]
    public void A_missing_directory_is_checked_without_being_created_and_no_probe_is_left_behind()
    {
        var target = Path.Combine(directory, "runs", "new");
        Assert.Equal(Path.GetFullPath(target), Locations.RequireWritableDirectory("--out", target));
        Assert.False(Directory.Exists(Path.Combine(directory, "runs")));   // a later failure leaves no empty folders
        Assert.Empty(Directory.GetFileSystemEntries(directory));
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "x"), "1");
        Locations.RequireWritableDirectory("--out", target);
        Assert.Equal([Path.Combine(target, "x")], Directory.GetFileSystemEntries(target));
        Assert.Contains("the path is empty", Assert.Throws<OptionException>(() => Locations.RequireWritableDirectory("--out", " ")).Message);
    }

    [Fact]
    public void A_read_only_directory_is_refused()
    {
        if (OperatingSystem.IsWindows() || Environment.UserName == "root")
        {
            // root writes anywhere; check that the probe at least succeeds there instead.
            Assert.Equal(Path.GetFullPath(directory), Locations.RequireWritableDirectory("--out", directory));
            return;
        }
        var locked = Directory.CreateDirectory(Path.Combine(directory, "locked")).FullName;
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var e = Assert.Throws<OptionException>(() => Locations.RequireWritableDirectory("--out", locked));
            Assert.StartsWith($"--out {locked}: cannot write in '{locked}'", e.Message);
            Assert.StartsWith($"--out {locked}/sub: cannot write in '{locked}'",
                Assert.Throws<OptionException>(() => Locations.RequireWritableDirectory("--out", Path.Combine(locked, "sub"))).Message);
        }
        finally
        {
            File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Theory]
    [InlineData("batch", "--batch 0: must be at least 1.")]
    [InlineData("steps", "--steps -1: must be ≥ 0.")]
    [InlineData("lr", "--lr 0: must be a positive number.")]
    [InlineData("lr-nan", "--lr NaN: must be a positive number.")]
    [InlineData("decay", "--weight-decay -0.1: must be ≥ 0.")]
    [InlineData("dropout", "--dropout 1: must be in [0, 1).")]
    [InlineData("device", "--device cuda:x: expected cpu, cuda or cuda:N.")]
    public void Range_checks_name_the_option_and_value(string check, string expected)
    {
        Action action = check switch
        {
            "batch" => () => OptionChecks.Positive("--batch", 0),
            "steps" => () => OptionChecks.NonNegative("--steps", -1),
            "lr" => () => OptionChecks.PositiveNumber("--lr", 0),
            "lr-nan" => () => OptionChecks.PositiveNumber("--lr", double.NaN),
            "decay" => () => OptionChecks.NonNegativeNumber("--weight-decay", -0.1),
            "dropout" => () => OptionChecks.Fraction("--dropout", 1),
            _ => () => OptionChecks.Device("--device", "cuda:x"),
        };
        Assert.Equal(expected, Assert.Throws<OptionException>(action).Message);
    }

    [Fact]
    public void Valid_values_pass_the_range_checks()
    {
        OptionChecks.Positive("--batch", 1);
        OptionChecks.NonNegative("--steps", 0);
        OptionChecks.PositiveNumber("--lr", 1e-5);
        OptionChecks.NonNegativeNumber("--weight-decay", 0);
        OptionChecks.Fraction("--dropout", 0.5);
        foreach (var device in new[] { "cpu", "CPU", "cuda", "cuda:0", "cuda:3" }) OptionChecks.Device("--device", device);
    }

    [Fact]
    public void The_cpu_device_is_prepared_and_missing_cuda_is_a_clear_option_error()
    {
        Assert.Equal(TorchSharp.DeviceType.CPU, Devices.Prepare("cpu", threads: 1).type);
        Assert.Equal("--device tpu: expected cpu, cuda or cuda:N.", Assert.Throws<OptionException>(() => Devices.Prepare("tpu", 1)).Message);
        Assert.Equal("--threads 0: must be at least 1.", Assert.Throws<OptionException>(() => Devices.Prepare("cpu", 0)).Message);
        if (TorchSharp.torch.cuda.is_available())
        {
            Assert.Equal(TorchSharp.DeviceType.CUDA, Devices.Prepare("cuda", 1).type);
            return;
        }
        var e = Assert.Throws<OptionException>(() => Devices.Prepare("cuda:0", 1));
        Assert.StartsWith("--device cuda:0: CUDA is not available here.", e.Message);
        Assert.Contains("-p:TorchBackend=cuda", e.Message);
    }

    [Fact]
    public void A_given_cache_folder_wins_and_is_named_by_its_option()
    {
        Assert.Equal(("/tmp/c", "--cache"), CacheLocation.Resolve("/tmp/c"));
        Assert.Equal(("/tmp/c", "--model-cache"), CacheLocation.Resolve("/tmp/c", "--model-cache"));
        var (directory, origin) = CacheLocation.Resolve(null);
        Assert.False(string.IsNullOrWhiteSpace(directory));
        Assert.NotEqual("--cache", origin);
    }
}
