using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace OneLoRA.Analyzers.Tests.Infrastructure;

/// <summary>Applies a code fix the way an IDE does (AdhocWorkspace, RegisterCodeFixesAsync, the action's operations) and checks the result.</summary>
internal static class CodeFixAssert
{
    /// <summary>
    /// Finds the one <paramref name="id"/> diagnostic on <paramref name="flaggedText"/> in <paramref name="source"/> (file 0),
    /// applies the provider's action with <paramref name="equivalenceKey"/>, and asserts the fixed project compiles and that
    /// diagnostic is gone. Returns the fixed text of every file.
    /// </summary>
    public static async Task<string[]> FixAsync(CodeFixProvider provider, string equivalenceKey, string id, string flaggedText,
        string source, params string[] otherFiles)
    {
        using var workspace = new AdhocWorkspace();
        var (solution, documents) = CreateSolution(workspace, [source, .. otherFiles]);
        var before = await DiagnosticsAsync(solution);
        var diagnostic = Assert.Single(before, d => d.Id == id && TextOf(d) == flaggedText);

        var actions = await ActionsAsync(provider, solution.GetDocument(documents[0])!, diagnostic);
        var action = Assert.Single(actions, a => a.EquivalenceKey == equivalenceKey);
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        var fixedSolution = Assert.Single(operations.OfType<ApplyChangesOperation>()).ChangedSolution;

        var compilation = (await fixedSolution.GetProject(documents[0].ProjectId)!.GetCompilationAsync())!;
        TestCompilation.AssertCompiles(compilation);
        var after = await TestCompilation.AnalyzeAsync(compilation);
        Assert.Equal(before.Count(d => d.Id == id) - 1, after.Count(d => d.Id == id));
        Assert.DoesNotContain(after, d => d.Id == id && TextOf(d) == flaggedText && d.Location.SourceTree?.FilePath == diagnostic.Location.SourceTree?.FilePath);

        var texts = new List<string>();
        foreach (var documentId in documents)
            texts.Add((await fixedSolution.GetDocument(documentId)!.GetTextAsync()).ToString());
        return [.. texts];
    }

    /// <summary>The titles of the actions a provider offers for the <paramref name="id"/> diagnostic on <paramref name="flaggedText"/>.</summary>
    public static async Task<IReadOnlyList<CodeAction>> OfferedAsync(CodeFixProvider provider, string id, string flaggedText, string source)
    {
        using var workspace = new AdhocWorkspace();
        var (solution, documents) = CreateSolution(workspace, [source]);
        var diagnostic = Assert.Single(await DiagnosticsAsync(solution), d => d.Id == id && TextOf(d) == flaggedText);
        return await ActionsAsync(provider, solution.GetDocument(documents[0])!, diagnostic);
    }

    private static (Solution, DocumentId[]) CreateSolution(AdhocWorkspace workspace, string[] sources)
    {
        var projectId = ProjectId.CreateNewId();
        var solution = workspace.CurrentSolution.AddProject(ProjectInfo.Create(projectId, VersionStamp.Create(), "Snippet", "Snippet",
            LanguageNames.CSharp, compilationOptions: TestCompilation.Options, parseOptions: TestCompilation.ParseOptions,
            metadataReferences: TestCompilation.References));
        var documents = new DocumentId[sources.Length];
        for (int i = 0; i < sources.Length; i++)
        {
            documents[i] = DocumentId.CreateNewId(projectId);
            solution = solution.AddDocument(documents[i], $"File{i}.cs", SourceText.From(sources[i]), filePath: $"File{i}.cs");
        }
        return (solution, documents);
    }

    private static async Task<IReadOnlyList<Diagnostic>> DiagnosticsAsync(Solution solution)
    {
        var compilation = (await solution.Projects.Single().GetCompilationAsync())!;
        TestCompilation.AssertCompiles(compilation);
        return await TestCompilation.AnalyzeAsync(compilation);
    }

    private static async Task<List<CodeAction>> ActionsAsync(CodeFixProvider provider, Document document, Diagnostic diagnostic)
    {
        Assert.Contains(diagnostic.Id, provider.FixableDiagnosticIds);
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        await provider.RegisterCodeFixesAsync(context);
        return actions;
    }

    private static string? TextOf(Diagnostic d) => d.Location.SourceTree?.GetText().ToString(d.Location.SourceSpan);
}
