namespace OneLoRA.Generators
{
    /// <summary>Names of the generator's pipeline steps (asserted by the incremental-caching tests).</summary>
    public static class TrackingNames
    {
        /// <summary>The parsed model of each <c>[Peft]</c> class (output of the attribute transform).</summary>
        public const string PeftClass = nameof(PeftClass);

        /// <summary>The models that are generated (classes the parser accepted).</summary>
        public const string GeneratedClass = nameof(GeneratedClass);

        /// <summary>Each generated class with its unique hint name.</summary>
        public const string GeneratedFile = nameof(GeneratedFile);
    }
}
