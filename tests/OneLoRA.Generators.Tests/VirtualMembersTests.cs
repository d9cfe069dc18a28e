using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Xunit;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// The root [Peft] class declares the generated members virtual and a derived [Peft] class overrides them: a call
/// through a base-typed reference reaches the derived class's table (with <c>new</c> members it reached the base's and
/// silently left the derived layers frozen). A sealed root keeps plain members (virtual is not allowed there).
/// </summary>
public class VirtualMembersTests
{
    private const string Source = """
        using OneLoRA;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace Virt;

        [Peft(Method.OneLoRA)]
        public partial class Base : nn.Module<Tensor, Tensor>
        {
            protected readonly Linear fc0 = nn.Linear(2, 2);
            public Base() : base("b") { }
            public override Tensor forward(Tensor x) => fc0.forward(x);
        }

        [Peft(Method.OneLoRA)]
        public partial class Derived : Base
        {
            protected readonly Linear fc1 = nn.Linear(2, 2);
            public Derived() => RegisterComponents();
            public override Tensor forward(Tensor x) => fc1.forward(fc0.forward(x));
        }

        [Peft(Method.OneLoRA)]
        public sealed partial class SealedRoot : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc = nn.Linear(2, 2);
            public SealedRoot() : base("s") => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.forward(x);
        }

        public static class Probe
        {
            // Compiled against the base type only: what a library written for Base sees of a Derived.
            public static int LayersThroughBase(Base model) => model.PeftLayers.Count;
            public static int AttachedThroughBase(Base model) => model.AttachAdapters().Layers.Count;
        }
        """;

    private static Assembly Compile()
    {
        var (_, result, output) = TestCompilation.Run(TestCompilation.Create(("Virt.cs", Source)));
        Assert.All(result.Results, r => Assert.Null(r.Exception));
        using var image = new MemoryStream();
        var emit = output.Emit(image);
        Assert.True(emit.Success, string.Join(Environment.NewLine, emit.Diagnostics));
        image.Position = 0;
        return new AssemblyLoadContext("virtual-members", isCollectible: true).LoadFromStream(image);
    }

    [Fact]
    public void A_base_typed_reference_reaches_the_derived_table_and_attach()
    {
        var asm = Compile();
        var probe = asm.GetType("Virt.Probe", throwOnError: true)!;
        var derived = Activator.CreateInstance(asm.GetType("Virt.Derived", throwOnError: true)!)!;
        Assert.Equal(2, (int)probe.GetMethod("LayersThroughBase")!.Invoke(null, [derived])!);
        Assert.Equal(2, (int)probe.GetMethod("AttachedThroughBase")!.Invoke(null, [derived])!);
    }

    [Fact]
    public void Root_members_are_virtual_derived_ones_override_and_a_sealed_root_has_plain_ones()
    {
        var asm = Compile();
        var names = new[] { "AttachAdapters", "MergeAdapters", "UnmergeAdapters", "CollectTargetLayers" };
        MethodInfo[] Members(string type) => asm.GetType(type, throwOnError: true)!.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => names.Contains(m.Name)).ToArray();
        Assert.All(Members("Virt.Base"), m => Assert.True(m.IsVirtual && m.GetBaseDefinition() == m, $"Base.{m.Name} should be a new virtual slot"));
        Assert.All(Members("Virt.Derived"), m => Assert.True(m.GetBaseDefinition().DeclaringType!.Name == "Base", $"Derived.{m.Name} should override Base's"));
        Assert.All(Members("Virt.SealedRoot"), m => Assert.False(m.IsVirtual && !m.IsFinal, $"SealedRoot.{m.Name} should not be overridable"));
        Assert.Equal(5, Members("Virt.Base").Length);
    }
}
