using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.UnitTests;

public class VectorIndexSettingsTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(999, 1)]
    [InlineData(250_000, 250)]
    [InlineData(1_000_000, 1000)]
    [InlineData(4_000_000, 2000)] // √rows above one million
    [InlineData(long.MaxValue, VectorIndexSettings.MaxIvfFlatLists)]
    public void Ivfflat_lists_follow_pgvectors_rule_of_thumb(long rows, int lists) =>
        Assert.Equal(lists, VectorIndexSettings.ListsFor(rows));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(100, 10)]
    [InlineData(2000, 45)]
    public void Default_probes_are_the_square_root_of_the_lists(int lists, int probes) =>
        Assert.Equal(probes, VectorIndexSettings.DefaultProbes(lists));

    [Theory]
    [InlineData(VectorDistance.Cosine, "<=>", "vector_cosine_ops", "1 - (d)")]
    [InlineData(VectorDistance.L2, "<->", "vector_l2_ops", "1 / (1 + (d))")]
    [InlineData(VectorDistance.InnerProduct, "<#>", "vector_ip_ops", "-(d)")]
    public void Each_distance_has_its_operator_operator_class_and_score(VectorDistance distance, string op, string opClass, string score)
    {
        var settings = new VectorIndexSettings(distance);

        Assert.Equal((op, opClass, score), (settings.Operator, settings.OperatorClass, settings.ScoreSql("d")));
    }

    [Fact]
    public void An_index_satisfies_settings_when_distance_method_and_parameters_match()
    {
        var built = new VectorIndexSettings(VectorDistance.Cosine, VectorIndexMethod.IvfFlat, IvfFlatLists: 12);

        Assert.True(new VectorIndexSettings(VectorDistance.Cosine, VectorIndexMethod.IvfFlat).IsSatisfiedBy(built)); // lists from the row count
        Assert.True(new VectorIndexSettings(VectorDistance.Cosine, VectorIndexMethod.IvfFlat, IvfFlatLists: 12).IsSatisfiedBy(built));
        Assert.False(new VectorIndexSettings(VectorDistance.Cosine, VectorIndexMethod.IvfFlat, IvfFlatLists: 13).IsSatisfiedBy(built));
        Assert.False(new VectorIndexSettings(VectorDistance.L2, VectorIndexMethod.IvfFlat).IsSatisfiedBy(built));
        Assert.False(VectorIndexSettings.Default.IsSatisfiedBy(built));
        Assert.False(new VectorIndexSettings(HnswM: 24, HnswEfConstruction: 64).IsSatisfiedBy(VectorIndexSettings.Default));
        Assert.True(new VectorIndexSettings().IsSatisfiedBy(VectorIndexSettings.Default));
    }

    [Theory]
    [InlineData("Cosine", VectorDistance.Cosine)]
    [InlineData("euclidean", VectorDistance.L2)]
    [InlineData("ip", VectorDistance.InnerProduct)]
    [InlineData(" inner_product ", VectorDistance.InnerProduct)]
    public void Distance_names_parse_case_insensitively_with_common_aliases(string name, VectorDistance distance) =>
        Assert.Equal(distance, VectorIndexSettings.ParseDistance(name));
}
