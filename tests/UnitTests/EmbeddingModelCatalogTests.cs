using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using VectorPipeline.Embeddings.Models;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.UnitTests;

public class EmbeddingModelCatalogTests
{
    private static EmbeddingModelCatalog Catalog(Dictionary<string, string?> settings) =>
        EmbeddingModelCatalog.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), NullLoggerFactory.Instance);

    [Fact]
    public void Nothing_configured_gives_the_built_in_semantic_model()
    {
        var model = Assert.Single(Catalog([]).Models);

        Assert.Equal(("onnx", "arctic-embed-xs@384", "Embedding"), (model.Provider, model.Key, model.ConfigurationKey));
        Assert.Equal(("Represent this sentence for searching relevant passages: ", ""), (model.QueryPrefix, model.DocumentPrefix));
    }

    [Fact]
    public void The_hashing_embedder_is_chosen_by_name()
    {
        var model = Catalog(new() { ["Embedding:Provider"] = "hashing" }).Primary;

        Assert.Equal(("hashing", "hashing-ngram-v1@384"), (model.Provider, model.Key));
    }

    [Fact]
    public void The_other_built_in_model_is_chosen_by_name_and_a_folder_model_needs_its_files()
    {
        Assert.Equal("all-minilm-l6-v2@384", Catalog(new() { ["Embedding:Model"] = "all-minilm-l6-v2" }).Primary.Key);

        var error = Assert.Throws<InvalidOperationException>(() => Catalog(new()
        {
            ["Embedding:Model"] = "bge-small",
            ["Embedding:Dimensions"] = "384",
            ["Embedding:Onnx:ModelPath"] = "/nonexistent/bge/model.onnx",
            ["Embedding:Onnx:Pooling"] = "cls",
        }));
        Assert.Equal("Embedding:Onnx:ModelPath: the model file /nonexistent/bge/model.onnx does not exist.", error.Message);
    }

    [Fact]
    public void An_aspire_connection_string_selects_ollama_and_names_the_model()
    {
        var model = Catalog(new()
        {
            ["ConnectionStrings:embeddings"] = "Endpoint=http://localhost:11434;Model=nomic-embed-text",
            ["Embedding:Dimensions"] = "768",
        }).Primary;

        Assert.Equal(("ollama", "nomic-embed-text@768", "http://localhost:11434"), (model.Provider, model.Key, model.Options.Endpoint));
        Assert.Equal(("search_query: ", "search_document: "), (model.QueryPrefix, model.DocumentPrefix));
    }

    [Fact]
    public void A_server_model_without_dimensions_is_refused_naming_the_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Catalog(new()
        {
            ["Embedding:Provider"] = "openai",
            ["Embedding:Endpoint"] = "https://api.example.test",
            ["Embedding:Model"] = "text-embedding-3-small",
        }));

        Assert.Contains("Embedding:Dimensions", error.Message);
    }

    [Theory]
    [InlineData("Embedding:Provider", "cohere", "cohere")]
    [InlineData("Embedding:Dimensions", "4096", "the built-in model arctic-embed-xs produces 384")]
    [InlineData("Embedding:Model", "other", "'other' is not a built-in model")]
    public void Invalid_settings_are_refused_with_the_reason(string key, string value, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Catalog(new() { [key] = value }));

        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("Embedding:Distance", "manhattan", "Embedding:Distance: Unknown distance 'manhattan'")]
    [InlineData("Embedding:Index", "diskann", "Embedding:Index: Unknown index method 'diskann'")]
    [InlineData("Embedding:HnswM", "1", "Embedding:HnswM: HNSW m is 1")]
    [InlineData("Embedding:HnswEfConstruction", "20", "Embedding:HnswEfConstruction: HNSW ef_construction is 20; it must be between 4 and 1000 and at least 2 × m (32)")]
    [InlineData("Embedding:IvfflatLists", "0", "Embedding:IvfflatLists: IVFFlat lists is 0")]
    public void Invalid_index_settings_are_refused_naming_the_key(string key, string value, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Catalog(new() { [key] = value }));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_settings_are_read_per_model()
    {
        var catalog = Catalog(new()
        {
            ["Embedding:Distance"] = "L2",
            ["Embedding:HnswM"] = "24",
            ["Embedding:HnswEfConstruction"] = "100",
            ["Embedding:Models:small:Provider"] = "hashing",
            ["Embedding:Models:small:Dimensions"] = "256",
            ["Embedding:Models:small:Index"] = "ivfflat",
            ["Embedding:Models:small:Distance"] = "inner_product",
        });

        Assert.Equal(new VectorIndexSettings(VectorDistance.L2, VectorIndexMethod.Hnsw, 24, 100), catalog.Primary.Index);
        Assert.Equal(new VectorIndexSettings(VectorDistance.InnerProduct, VectorIndexMethod.IvfFlat), catalog.Models[1].Index);
    }

    [Fact]
    public void Further_models_come_from_their_own_sections_and_connection_strings()
    {
        var catalog = Catalog(new()
        {
            ["Embedding:Models:embeddings-next:Dimensions"] = "1024",
            ["ConnectionStrings:embeddings-next"] = "Endpoint=http://ollama:11434;Model=mxbai-embed-large",
            ["Embedding:Models:small:Provider"] = "hashing",
            ["Embedding:Models:small:Dimensions"] = "256",
            ["Embedding:Models:small:DocumentPrefix"] = "doc: ",
        });

        Assert.Equal(["arctic-embed-xs@384", "mxbai-embed-large@1024", "hashing-ngram-v1@256"], catalog.Models.Select(m => m.Key));
        Assert.Equal("Embedding:Models:embeddings-next", catalog.Models[1].ConfigurationKey);
        Assert.StartsWith("Represent this sentence", catalog.Models[1].QueryPrefix, StringComparison.Ordinal);
        Assert.Equal(("", "doc: "), (catalog.Models[2].QueryPrefix, catalog.Models[2].DocumentPrefix));
        Assert.Same(catalog.Models[2], catalog.Find(new VectorStore.EmbeddingModel(9, "any", "hashing-ngram-v1", 256, VectorIndexSettings.Default, "embeddings_hnsw_m9")));
        Assert.Null(catalog.Find(new VectorStore.EmbeddingModel(9, "any", "hashing-ngram-v1", 512, VectorIndexSettings.Default, "embeddings_hnsw_m9")));
    }

    [Fact]
    public void The_same_model_configured_twice_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Catalog(new() { ["Embedding:Provider"] = "hashing", ["Embedding:Models:again:Provider"] = "hashing" }));

        Assert.Contains("hashing-ngram-v1@384", error.Message);
    }

    [Theory]
    [InlineData("nomic-embed-text:latest", "search_query: ", "search_document: ")]
    [InlineData("intfloat/multilingual-e5-large", "query: ", "passage: ")]
    [InlineData("BAAI/bge-small-en-v1.5", "Represent this sentence for searching relevant passages: ", "")]
    [InlineData("snowflake-arctic-embed2:568m", "query: ", "")]
    [InlineData("all-MiniLM-L6-v2", "", "")]
    public void Known_models_get_their_prefixes(string model, string query, string document) =>
        Assert.Equal((query, document), KnownModelPrefixes.For(model));
}
