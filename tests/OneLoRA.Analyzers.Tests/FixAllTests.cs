using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Text;
using OneLoRA.Analyzers.CodeFixes;
using OneLoRA.Analyzers.Tests.Infrastructure;
using Xunit;

namespace OneLoRA.Analyzers.Tests;

/// <summary>Fix All (issue 14): every code fix has a provider, and Fix All fixes every occurrence, also several edits of one Targets.</summary>
public sealed class FixAllTests
{
    private const string U = TestCompilation.Usings;

    private static readonly string[] ProviderNames =
        [nameof(AddNoPeftCodeFix), nameof(AddPartialCodeFix), nameof(AddToTargetsCodeFix), nameof(RemoveNoPeftCodeFix), nameof(RemoveOptionCodeFix)];

    public static TheoryData<string> Providers => new(ProviderNames);

    private static CodeFixProvider Create(string name) => name switch
    {
        nameof(AddNoPeftCodeFix) => new AddNoPeftCodeFix(),
        nameof(AddPartialCodeFix) => new AddPartialCodeFix(),
        nameof(AddToTargetsCodeFix) => new AddToTargetsCodeFix(),
        nameof(RemoveNoPeftCodeFix) => new RemoveNoPeftCodeFix(),
        _ => new RemoveOptionCodeFix(),
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public void Every_code_fix_has_a_fix_all_provider(string name)
    {
        var provider = Create(name).GetFixAllProvider();
        Assert.NotNull(provider);
        Assert.Contains(FixAllScope.Document, provider.GetSupportedFixAllScopes());
    }

    /// <summary>Every code fix in the assembly is one of the providers above (a new one must join the list).</summary>
    [Fact]
    public void The_list_covers_every_provider()
    {
        var all = typeof(AddToTargetsCodeFix).Assembly.GetTypes().Where(t => typeof(CodeFixProvider).IsAssignableFrom(t) && !t.IsAbstract).Select(t => t.Name).Order();
        Assert.Equal(ProviderNames.Order(), all);
    }

    [Fact]
    public async Task AddToTargets_fix_all_in_a_document_adds_every_member_to_one_literal()
    {
        var texts = await FixAllAsync(new AddToTargetsCodeFix(), FixAllScope.Document, U + """
            [Peft(Method.OneLoRA, Targets = "fc1")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc1 = Linear(4, 4), fc2 = Linear(4, 4);
                private readonly Linear[] blocks = [Linear(4, 4)];
                public Linear Head { get; } = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Head.forward(blocks[0].forward(fc2.forward(fc1.forward(x))));
            }

            [Peft(Method.LoRA, Targets = Names.First)]
            public partial class Other : Module<Tensor, Tensor>
            {
                private readonly Linear a = Linear(4, 4), b = Linear(4, 4), c = Linear(4, 4);
                public Other() : base(nameof(Other)) => RegisterComponents();
                public override Tensor forward(Tensor x) => c.forward(b.forward(a.forward(x)));
            }

            public static class Names { public const string First = "a"; }
            """);
        Assert.Contains("[Peft(Method.OneLoRA, Targets = \"fc1;fc2;blocks;Head\")]", texts[0]);
        Assert.Contains("[Peft(Method.LoRA, Targets = Names.First + \";b;c\")]", texts[0]);
    }

    [Fact]
    public async Task AddToTargets_fix_all_in_the_project_edits_the_attribute_in_another_file()
    {
        var texts = await FixAllAsync(new AddToTargetsCodeFix(), FixAllScope.Project, U + """
            [Peft(Method.OneLoRA, Targets = "q;")]
            public partial class Attention : Module<Tensor, Tensor>
            {
                private readonly Linear q = Linear(4, 4);
                public Attention() : base(nameof(Attention)) => RegisterComponents();
            }
            """, U + """
            public partial class Attention
            {
                private readonly Linear k = Linear(4, 4);
                private readonly Linear v = Linear(4, 4);
                public override Tensor forward(Tensor x) => v.forward(k.forward(q.forward(x)));
            }
            """);
        Assert.Contains("[Peft(Method.OneLoRA, Targets = \"q;k;v\")]", texts[0]);
        Assert.DoesNotContain("Targets", texts[1]);
    }

    [Fact]
    public async Task AddNoPeft_fix_all_marks_every_member()
    {
        var texts = await FixAllAsync(new AddNoPeftCodeFix(), FixAllScope.Document, U + """
            [Peft(Method.OneLoRA, Targets = "fc")]
            public partial class Net : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                private readonly Linear gate = Linear(4, 4);
                private readonly Linear head = Linear(4, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.forward(gate.forward(fc.forward(x)));
            }
            """);
        Assert.Contains("[NoPeft]\n    private readonly Linear gate", texts[0].Replace("\r\n", "\n"));
        Assert.Contains("[NoPeft]\n    private readonly Linear head", texts[0].Replace("\r\n", "\n"));
    }

    /// <summary>
    /// Runs the provider's Fix All over the OLORA001 (or whatever it fixes) diagnostics in <paramref name="scope"/> starting from
    /// the first one's document, and asserts the fixed project compiles and none of those diagnostics is left. Returns every file's text.
    /// </summary>
    private static async Task<string[]> FixAllAsync(CodeFixProvider provider, FixAllScope scope, params string[] sources)
    {
        using var workspace = new AdhocWorkspace();
        var projectId = ProjectId.CreateNewId();
        var solution = workspace.CurrentSolution.AddProject(ProjectInfo.Create(projectId, VersionStamp.Create(), "Snippet", "Snippet",
            LanguageNames.CSharp, compilationOptions: TestCompilation.Options, parseOptions: TestCompilation.ParseOptions,
            metadataReferences: TestCompilation.References));
        var ids = new DocumentId[sources.Length];
        for (int i = 0; i < sources.Length; i++)
        {
            ids[i] = DocumentId.CreateNewId(projectId);
            solution = solution.AddDocument(ids[i], $"File{i}.cs", SourceText.From(sources[i]), filePath: $"File{i}.cs");
        }

        var fixable = provider.FixableDiagnosticIds;
        var before = (await Diagnostics(solution.GetProject(projectId)!)).Where(d => fixable.Contains(d.Id)).ToList();
        Assert.True(before.Count >= 2, "the snippet must have several fixable diagnostics");

        var fixAll = provider.GetFixAllProvider()!;
        var document = solution.GetDocument(before[0].Location.SourceTree)!;
        var context = new FixAllContext(document, provider, scope, (await FirstActionKey(provider, document, before[0]))!,
            fixable, new Provider(), CancellationToken.None);
        var action = await fixAll.GetFixAsync(context);
        Assert.NotNull(action);
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        var fixedSolution = Assert.Single(operations.OfType<ApplyChangesOperation>()).ChangedSolution;

        var project = fixedSolution.GetProject(projectId)!;
        TestCompilation.AssertCompiles((await project.GetCompilationAsync())!);
        Assert.DoesNotContain(await Diagnostics(project), d => fixable.Contains(d.Id));
        var texts = new List<string>();
        foreach (var id in ids) texts.Add((await fixedSolution.GetDocument(id)!.GetTextAsync()).ToString());
        return [.. texts];
    }

    private static async Task<string?> FirstActionKey(CodeFixProvider provider, Document document, Diagnostic diagnostic)
    {
        var actions = new List<CodeAction>();
        await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
        return actions.First().EquivalenceKey;
    }

    private static async Task<IReadOnlyList<Diagnostic>> Diagnostics(Project project) =>
        await TestCompilation.AnalyzeAsync((await project.GetCompilationAsync())!);

    private sealed class Provider : FixAllContext.DiagnosticProvider
    {
        public override async Task<IEnumerable<Diagnostic>> GetAllDiagnosticsAsync(Project project, CancellationToken cancellationToken) =>
            await Diagnostics(project);

        public override async Task<IEnumerable<Diagnostic>> GetDocumentDiagnosticsAsync(Document document, CancellationToken cancellationToken)
        {
            var tree = await document.GetSyntaxTreeAsync(cancellationToken);
            return (await Diagnostics(document.Project)).Where(d => d.Location.SourceTree == tree);
        }

        public override async Task<IEnumerable<Diagnostic>> GetProjectDiagnosticsAsync(Project project, CancellationToken cancellationToken) =>
            (await Diagnostics(project)).Where(d => !d.Location.IsInSource);
    }
}
