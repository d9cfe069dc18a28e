using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using OneLoRA.Generators.Model;

namespace OneLoRA.Generators.Tests;

/// <summary>
/// The pipeline model must hold no Roslyn object that would pin a compilation and defeat caching
/// (ISymbol, SyntaxNode, Location, Compilation...), and every type in it must compare by value.
/// </summary>
public class ModelShapeTests
{
    private static readonly Type[] Forbidden =
        [typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxToken), typeof(SyntaxTree), typeof(Location), typeof(Compilation), typeof(SemanticModel), typeof(AttributeData), typeof(TypedConstant)];

    private static IEnumerable<Type> Reachable(Type root)
    {
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>([root]);
        while (pending.Count > 0)
        {
            var type = pending.Pop();
            if (!seen.Add(type)) continue;
            yield return type;
            if (type.IsArray) pending.Push(type.GetElementType()!);
            foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : []) pending.Push(argument);
            if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true) continue;
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)) pending.Push(field.FieldType);
        }
    }

    [Fact]
    public void ModelHoldsNoRoslynObjects()
    {
        var types = Reachable(typeof(PeftClassModel)).ToList();
        Assert.Contains(typeof(InterceptedCallSpec), types);
        Assert.Contains(typeof(PeftMemberSpec), types);
        foreach (var type in types)
            foreach (var forbidden in Forbidden)
                Assert.False(forbidden.IsAssignableFrom(type), $"{type} in the pipeline model is a {forbidden.Name}");
    }

    [Fact]
    public void EveryModelFieldComparesByValue()
    {
        // Arrays compare by reference: lists must be EquatableArray<T>, everything else a value-equal type.
        var records = Reachable(typeof(PeftClassModel))
            .Where(t => t.Namespace == typeof(PeftClassModel).Namespace && !t.IsEnum && !t.IsArray && !t.IsGenericType)
            .ToList();
        Assert.NotEmpty(records);
        foreach (var type in records)
        {
            Assert.True(typeof(IEquatable<>).MakeGenericType(type).IsAssignableFrom(type), $"{type} is not IEquatable<{type.Name}>");
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                var t = field.FieldType;
                bool valueEqual = t == typeof(string) || t.IsPrimitive || t.IsEnum || records.Contains(t)
                    || (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(EquatableArray<>));
                Assert.True(valueEqual, $"{type.Name}.{field.Name} has type {t}, which does not compare by value");
            }
        }
    }

    [Fact]
    public void EquatableArrayComparesElements()
    {
        var a = new EquatableArray<string>(["x", "y"]);
        var b = new EquatableArray<string>(["x", "y"]);
        var c = new EquatableArray<string>(["x", "z"]);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.Equal(default(EquatableArray<string>), EquatableArray<string>.Empty);
    }
}
