using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using OneLoRA.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace OneLoRA.Training.Tests;

/// <summary>
/// A text-shaped classifier: token ids and an attention mask [n, seq] → masked mean of embeddings → Linear. The loop
/// only sees indices and logits, so this is all a text job needs to plug in.
/// </summary>
internal sealed class BagOfTokens : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding embedding;
    private readonly Linear classifier;

    public BagOfTokens(int vocabulary, int width, int classes, Generator generator) : base(nameof(BagOfTokens))
    {
        embedding = nn.Embedding(vocabulary, width);
        classifier = nn.Linear(width, classes);
        RegisterComponents();
        using (no_grad())
        {
            // Seeded from the test's own generator: no global RNG (tests run in parallel).
            embedding.weight!.copy_(randn(vocabulary, width, generator: generator) * 0.1);
            classifier.weight!.copy_(randn(classes, width, generator: generator) * 0.1);
            classifier.bias!.zero_();
        }
    }

    public override Tensor forward(Tensor tokens, Tensor mask)
    {
        var m = mask.unsqueeze(-1).to(ScalarType.Float32);
        var mean = (embedding.call(tokens) * m).sum(1) / m.sum(1).clamp_min(1);
        return classifier.call(mean);
    }
}

/// <summary>Token sequences whose class is the marker token (1, 2 or 3) hidden among noise tokens, with padding after a random length.</summary>
internal sealed class TokenTask : IDisposable
{
    public TokenTask(int count, int seed)
    {
        using var g = new Generator((ulong)seed);
        const int seq = 8;
        Labels = randint(0, 3, [count], generator: g);
        var tokens = randint(4, 20, [count, seq], generator: g);
        var lengths = randint(2, seq + 1, [count], generator: g);
        Mask = arange(seq).unsqueeze(0).lt(lengths.unsqueeze(1)).to(ScalarType.Int64);
        var position = randint(0, 2, [count], generator: g);   // the marker sits in the first two tokens, always unmasked
        tokens.index_put_(Labels + 1, arange(count), position);
        Tokens = tokens * Mask;   // padding id 0
    }

    public Tensor Tokens { get; }
    public Tensor Mask { get; }
    public Tensor Labels { get; }

    public IBatchSource Batches(BagOfTokens model) => new BatchSource(Labels, i => model.call(Tokens.index(i), Mask.index(i)));

    public void Dispose()
    {
        Tokens.Dispose();
        Mask.Dispose();
        Labels.Dispose();
    }
}

public sealed class TrainerTests
{
    private static readonly TrainingProgress Quiet = TrainingProgress.Create(plain: true, TextWriter.Null);

    private static TrainingSettings Settings(int steps = 150, int seed = 0) =>
        new() { Steps = steps, Batch = 32, LearningRate = 5e-2, WeightDecay = 0, Seed = seed, Phase = "test" };

    private static double[] Parameters(nn.Module model) =>
        model.parameters().SelectMany(p => p.detach().to(ScalarType.Float64).data<double>().ToArray()).ToArray();

    [Fact]
    public void A_token_id_and_mask_classifier_learns_through_the_shared_loop()
    {
        using var task = new TokenTask(600, seed: 1);
        using var model = new BagOfTokens(20, 16, 3, new Generator(2));
        using var untrained = Trainer.Evaluate(model, task.Batches(model), batch: 128);

        var outcome = Trainer.Train(model, model.parameters(), task.Batches(model), Settings(), Quiet);
        using var trained = Trainer.Evaluate(model, task.Batches(model), batch: 128);

        Assert.True(untrained.Accuracy < 0.5, $"untrained accuracy {untrained.Accuracy}");
        Assert.True(trained.Accuracy > 0.95, $"trained accuracy {trained.Accuracy}, final loss {outcome.FinalLoss}");
        Assert.True(outcome.FinalLoss < 0.3, $"final loss {outcome.FinalLoss}");
        Assert.Equal((150, 150L * 32), (outcome.Steps, outcome.Examples));
        Assert.True(outcome.Seconds > 0 && outcome.ExamplesPerSecond > 0);
        Assert.True(model.training, "the loop leaves the model in training mode");
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights_and_another_seed_another_batch_order()
    {
        double[] Run(int seed)
        {
            using var task = new TokenTask(200, seed: 3);
            using var model = new BagOfTokens(20, 8, 3, new Generator(4));
            Trainer.Train(model, model.parameters(), task.Batches(model), Settings(steps: 20, seed: seed), Quiet);
            return Parameters(model);
        }
        var first = Run(5);
        Assert.Equal(first, Run(5));
        Assert.NotEqual(first, Run(6));
    }

    [Fact]
    public void Each_epoch_visits_every_full_batch_once_in_a_seeded_order()
    {
        using var labels = zeros(10, dtype: ScalarType.Int64);
        using var weight = nn.Parameter(zeros(1, 2));
        var seen = new List<long[]>();
        var source = new BatchSource(labels, i =>
        {
            seen.Add(i.data<long>().ToArray());
            return weight.expand(i.shape[0], 2);
        });
        using var module = nn.Linear(1, 1);
        Trainer.Train(module, [weight], source, new TrainingSettings { Steps = 6, Batch = 3, LearningRate = 1e-3 }, Quiet);

        // 10 examples, batch 3: 3 full batches an epoch (one example left out each epoch), two epochs.
        Assert.Equal(6, seen.Count);
        Assert.All(seen, b => Assert.Equal(3, b.Length));
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var visited = seen.Skip(3 * epoch).Take(3).SelectMany(b => b).ToList();
            Assert.Equal(9, visited.Distinct().Count());
            Assert.All(visited, i => Assert.InRange(i, 0, 9));
        }
        // The order is a permutation from the seeded generator: randperm(10) twice from seed 0.
        using var g = new Generator(0, device: CPU);
        var expected = randperm(10, generator: g).data<long>().Take(9).ToArray();
        Assert.Equal(expected, seen.Take(3).SelectMany(b => b).ToArray());
    }

    [Fact]
    public void A_non_finite_loss_stops_before_its_step_with_a_message_naming_the_phase_step_and_option()
    {
        using var task = new TokenTask(100, seed: 7);
        using var model = new BagOfTokens(20, 8, 3, new Generator(8));
        int calls = 0;
        double[]? beforeBadStep = null;
        var source = new BatchSource(task.Labels, i =>
        {
            var logits = model.call(task.Tokens.index(i), task.Mask.index(i));
            if (++calls < 3) return logits;
            beforeBadStep = Parameters(model);
            return logits * double.NaN;
        });

        var e = Assert.Throws<NonFiniteLossException>(() =>
            Trainer.Train(model, model.parameters(), source, Settings(steps: 10) with { Phase = "fine-tune X", LearningRateOption = "--pretrain-lr" }, Quiet));

        Assert.Equal(3, e.Step);
        Assert.True(double.IsNaN(e.Loss));
        Assert.Equal("fine-tune X: the loss became NaN at step 3; lower the learning rate (--pretrain-lr).", e.Message);
        Assert.IsAssignableFrom<InvalidOperationException>(e);
        Assert.Equal(beforeBadStep, Parameters(model));   // the NaN step was not applied
        Assert.All(Parameters(model), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Bad_settings_and_empty_inputs_are_refused_before_training()
    {
        using var labels = zeros(4, dtype: ScalarType.Int64);
        using var module = nn.Linear(1, 3);
        var source = new BatchSource(labels, i => module.call(ones(i.shape[0], 1)));
        Assert.Contains("no trainable parameters", Assert.Throws<InvalidOperationException>(() =>
            Trainer.Train(module, [], source, Settings(), Quiet)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Train(module, module.parameters(), source, Settings() with { Steps = 0 }, Quiet));
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Train(module, module.parameters(), source, Settings() with { LearningRate = double.NaN }, Quiet));
        using var none = zeros(0, dtype: ScalarType.Int64);
        Assert.Contains("no examples", Assert.Throws<InvalidOperationException>(() =>
            Trainer.Train(module, module.parameters(), new BatchSource(none, i => module.call(ones(i.shape[0], 1))), Settings(), Quiet)).Message);
    }

    [Fact]
    public void Evaluation_returns_every_logit_in_order_with_accuracy_and_macro_f1_computed_independently()
    {
        // Logits chosen per example; predictions [0, 2, 1, 0, 0, 1] against labels [0, 1, 2, 0, 1, 2].
        var table = new float[,] { { 5, 0, 0 }, { 0, 0, 5 }, { 0, 5, 0 }, { 5, 0, 0 }, { 5, 0, 0 }, { 0, 5, 0 } };
        using var all = tensor(table);
        using var labels = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        using var module = nn.Linear(1, 1);
        var batches = new List<long[]>();
        var source = new BatchSource(labels, i => { batches.Add(i.data<long>().ToArray()); return all.index(i); });

        using var evaluation = Trainer.Evaluate(module, source, batch: 4);

        Assert.Equal(new List<long[]> { new long[] { 0, 1, 2, 3 }, new long[] { 4, 5 } }, batches);
        Assert.Equal(table.Cast<float>().ToArray(), evaluation.Logits.data<float>().ToArray());
        Assert.Equal((2L, 6L), (evaluation.Correct, evaluation.Count));
        Assert.Equal(2.0 / 6, evaluation.Accuracy, 12);
        // scikit-learn: f1_score([0,1,2,0,1,2], [0,2,1,0,0,1], average="macro") = 0.2666… (class 0: 2·2/(4+1) = 0.8; 1, 2: 0).
        Assert.Equal(0.8 / 3, evaluation.MacroF1, 12);
        Assert.True(module.training);
    }

    [Fact]
    public void Differences_count_changed_predictions_and_the_largest_logit_gap()
    {
        using var a = new Evaluation(1, 2, 0.5, tensor(new float[,] { { 1, 0 }, { 0, 1 } }));
        using var b = new Evaluation(1, 2, 0.5, tensor(new float[,] { { 1, 0.5f }, { 3, 1 } }));
        Assert.Equal((1L, 3.0), Evaluation.Differences(a, b));
        Assert.Equal((0L, 0.0), Evaluation.Differences(a, a));
        using var c = new Evaluation(0, 1, 0, zeros(1, 2));
        Assert.Throws<ArgumentException>(() => Evaluation.Differences(a, c));
    }
}

/// <summary>Heap measurements: not run beside other tests, whose allocations would move the process's heap.</summary>
[CollectionDefinition(nameof(HeapCollection), DisableParallelization = true)]
public sealed class HeapCollection;

[Collection(nameof(HeapCollection))]
public sealed class TensorMemoryTests
{
    [Fact]
    public void The_tensor_memory_of_a_step_holds_at_least_the_gradients_and_the_AdamW_state()
    {
        if (!HeapMeter.Available) return;   // Linux with glibc ≥ 2.33 only
        using var generator = new Generator(11);
        using var module = nn.Linear(256, 256);
        using (no_grad()) module.weight!.copy_(randn(256, 256, generator: generator) * 0.01);
        using var inputs = randn(64, 256, generator: generator);
        using var labels = randint(0, 256, [64], generator: generator);
        var source = new BatchSource(labels, i => module.call(inputs.index(i)));
        var quiet = TrainingProgress.Create(plain: true, TextWriter.Null);
        var settings = new TrainingSettings { Steps = 3, Batch = 16, LearningRate = 1e-3, MemorySteps = 2 };

        var measured = Trainer.Train(module, module.parameters(), source, settings, quiet);
        // Independent lower bound: weight + bias gradients, and AdamW's exp_avg and exp_avg_sq of each, float32.
        long parameterBytes = 4L * (256 * 256 + 256);
        Assert.True(measured.TensorMemoryBytes >= 3 * parameterBytes, $"{measured.TensorMemoryBytes} bytes < 3 × {parameterBytes}");
        Assert.True(measured.TensorMemoryBytes < 64L << 20, $"{measured.TensorMemoryBytes} bytes for a 256×256 Linear");

        Assert.Equal(-1, Trainer.Train(module, module.parameters(), source, settings with { MemorySteps = 0 }, quiet).TensorMemoryBytes);
    }
}
