using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace OneLoRA.Generators.Model
{
    /// <summary>
    /// An immutable array compared by its elements, so pipeline models holding lists stay equal across
    /// runs when their contents are equal (plain arrays compare by reference and would defeat caching).
    /// </summary>
    public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        private readonly T[]? items;

        /// <summary>Wraps <paramref name="items"/> (not copied: callers hand over a fresh array).</summary>
        public EquatableArray(T[] items) => this.items = items;

        /// <summary>An empty array.</summary>
        public static EquatableArray<T> Empty => new EquatableArray<T>(Array.Empty<T>());

        /// <summary>Number of elements.</summary>
        public int Count => items?.Length ?? 0;

        /// <summary>The element at <paramref name="index"/>.</summary>
        public T this[int index] => (items ?? Array.Empty<T>())[index];

        /// <inheritdoc />
        public bool Equals(EquatableArray<T> other)
        {
            var mine = items ?? Array.Empty<T>();
            var theirs = other.items ?? Array.Empty<T>();
            if (mine.Length != theirs.Length) return false;
            for (int i = 0; i < mine.Length; i++)
                if (!EqualityComparer<T>.Default.Equals(mine[i], theirs[i])) return false;
            return true;
        }

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        /// <inheritdoc />
        public override int GetHashCode()
        {
            int hash = 17;
            foreach (var item in items ?? Array.Empty<T>())
                hash = unchecked(hash * 31 + (item is null ? 0 : item.GetHashCode()));
            return hash;
        }

        /// <inheritdoc />
        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(items ?? Array.Empty<T>())).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Builds <see cref="EquatableArray{T}"/> values.</summary>
    public static class EquatableArray
    {
        /// <summary>Copies a sequence into an equatable array.</summary>
        public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> source) where T : IEquatable<T> =>
            new EquatableArray<T>(source.ToArray());
    }
}
