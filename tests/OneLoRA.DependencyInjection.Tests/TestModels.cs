using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using OneLoRA.Tests;

namespace OneLoRA.DependencyInjection.Tests;

/// <summary>An unannotated model: Linear fields and a Sequential, layers invoked through call().</summary>
internal sealed class PlainNet : nn.Module<Tensor, Tensor>
{
    public readonly Linear input;
    public readonly Sequential body;
    public readonly LayerNorm norm;
    public readonly Linear head;

    public PlainNet(int seed) : base(nameof(PlainNet))
    {
        input = nn.Linear(6, 8);
        body = nn.Sequential(("hidden", nn.Linear(8, 8)), ("act", nn.Tanh()), ("proj", nn.Linear(8, 8)));
        norm = nn.LayerNorm(8);
        head = nn.Linear(8, 3);
        RegisterComponents();
        this.Init(seed);
    }

    public override Tensor forward(Tensor x) => head.call(norm.call(body.call(input.call(x))));
}

/// <summary>Configuration and containers as an app builds them.</summary>
internal static class Containers
{
    static Containers() => TorchRuntime.EnsureLoaded();

    public static IConfigurationSection Section(params (string Key, string? Value)[] entries)
    {
        var values = new Dictionary<string, string?>();
        foreach (var (key, value) in entries) values[$"Peft:{key}"] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Peft");
    }

    public static ServiceProvider Build(IConfiguration section, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        services.AddOneLoRA(section);
        more?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>A JSON file in a fresh temp folder; deleted by the caller's using.</summary>
    public static TempFile Json(string json) => new(json);

    public sealed class TempFile : IDisposable
    {
        public TempFile(string content)
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("onelora-di-").FullName;
            Path = System.IO.Path.Combine(Directory, "appsettings.json");
            File.WriteAllText(Path, content);
        }

        public string Directory { get; }
        public string Path { get; }
        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>Records every log entry, for assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public List<(string Category, LogLevel Level, EventId Event, string Message)> Entries { get; } = [];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner.Entries) owner.Entries.Add((category, logLevel, eventId, formatter(state, exception)));
        }
    }
}
