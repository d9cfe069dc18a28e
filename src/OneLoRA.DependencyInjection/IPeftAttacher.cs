using System;
using static TorchSharp.torch;

namespace OneLoRA.DependencyInjection;

/// <summary>
/// Attaches adapters with the configured method and logs what happened: the adapted layers, the method,
/// trainable versus total parameters (PEFT's <c>print_trainable_parameters</c> line), per-layer counts at
/// Debug, and each Targets/Exclude pattern that matched nothing as a warning.
/// </summary>
public interface IPeftAttacher
{
    /// <summary>
    /// Runs a generated attach with the configured method — <c>attacher.Attach(model, m =&gt; model.AttachAdapters(m))</c> —
    /// and logs the resulting attachment.
    /// </summary>
    /// <exception cref="InvalidOperationException">The delegate attached nothing to <paramref name="model"/>.</exception>
    PeftAttachment Attach(nn.Module model, Action<IPeftMethod> attachAdapters);

    /// <summary>Runs a generated attach with a given method and logs the resulting attachment.</summary>
    /// <exception cref="InvalidOperationException">The delegate attached nothing to <paramref name="model"/>.</exception>
    PeftAttachment Attach(nn.Module model, IPeftMethod method, Action<IPeftMethod> attachAdapters);

    /// <summary>
    /// Runtime attach (<see cref="PeftModel"/>) of the configured method to the Linear layers the configured
    /// Targets/Exclude select; the model must call its layers through <c>call()</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No Linear layer matched; the message lists the Linear paths that exist.</exception>
    PeftAttachment AttachRuntime(nn.Module model);

    /// <summary>Runtime attach of <paramref name="method"/> to the layers the globs select.</summary>
    /// <exception cref="InvalidOperationException">No Linear layer matched; the message lists the Linear paths that exist.</exception>
    PeftAttachment AttachRuntime(nn.Module model, IPeftMethod method, string targets, string exclude = "");

    /// <summary>Logs an attachment made elsewhere (layers, method, parameter counts).</summary>
    void Log(PeftAttachment attachment);
}
