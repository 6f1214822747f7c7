using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using VectorPipeline.Ingest.Backfill;
using VectorPipeline.Ingest.Indexing;
using VectorPipeline.ServiceDefaults.Security;
using VectorPipeline.VectorStore;
using VectorPipeline.VectorStore.Indexing;

namespace VectorPipeline.Ingest.Apis;

/// <summary>
/// The <c>/models</c> endpoints of Ingest.Api: list the embedding models, backfill one, make it the
/// active one, rebuild its vector index, drop one. A model is named in the path by its key <c>{name}@{dimensions}</c> (escape a
/// <c>/</c> in the name as <c>%2F</c>), its id, or its name when unambiguous.
/// </summary>
public static class ModelsApi
{
    /// <summary>Maps, for callers with the <c>admin</c> role only, <c>GET /models</c>, <c>GET /models/{model}</c>, <c>POST /models/{model}/backfill</c>, <c>POST /models/{model}/activate</c>, <c>POST /models/{model}/reindex</c> and <c>DELETE /models/{model}</c>.</summary>
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/models").WithTags("Models").RequireAuthorization(AuthPolicies.Admin);
        api.MapGet("/", ListModels).WithName("ListModels")
            .WithSummary("Every registered embedding model with its status and backfill progress.");
        api.MapGet("/{model}", GetModel).WithName("GetModel")
            .WithSummary("One model's status and backfill progress (embedded / total chunks).");
        api.MapPost("/{model}/backfill", Backfill).WithName("BackfillModel")
            .WithSummary("Embed every stored chunk with the model in the background; new documents are embedded with it from now on.");
        api.MapPost("/{model}/activate", Activate).WithName("ActivateModel")
            .WithSummary("Make a fully backfilled model the one searches use by default.");
        api.MapPost("/{model}/reindex", Reindex).WithName("ReindexModel")
            .WithSummary("Rebuild the model's vector index with its configured settings (IVFFlat lists from the current row count) without pausing searches.");
        api.MapDelete("/{model}", Drop).WithName("DropModel")
            .WithSummary("Drop an inactive model with its embeddings and HNSW index.");
        return app;
    }

    /// <summary>Handles <c>GET /models</c>.</summary>
    public static async Task<Ok<List<ModelResponse>>> ListModels(EmbeddingModelStore models, CancellationToken cancellationToken) =>
        TypedResults.Ok((await models.ListAsync(cancellationToken)).Select(ToResponse).ToList());

    /// <summary>Handles <c>GET /models/{model}</c>: 404 when no model matches.</summary>
    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> GetModel(string model, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        var (found, problem) = await ResolveAsync(model, models, cancellationToken);
        if (found is null)
        {
            return problem!;
        }

        return TypedResults.Ok(ToResponse((await models.GetStateAsync(found.Id, cancellationToken))!));
    }

    /// <summary>
    /// Handles <c>POST /models/{model}/backfill</c>: enables the model (new chunks are embedded with it),
    /// queues every chunk without its embedding in the background and answers 202 with the model and a
    /// <c>Location</c> to poll for progress. Asking again queues only what is still missing.
    /// </summary>
    public static async Task<Results<Accepted<ModelResponse>, ProblemHttpResult>> Backfill(
        string model, [FromBody] BackfillRequest? request, EmbeddingModelStore models, BackfillService backfills, CancellationToken cancellationToken)
    {
        var (found, problem) = await ResolveAsync(model, models, cancellationToken);
        if (found is null)
        {
            return problem!;
        }

        await models.RequestBackfillAsync(found.Id, request?.ActivateWhenComplete ?? false, cancellationToken);
        backfills.Enqueue(found.Id);
        var state = await models.GetStateAsync(found.Id, cancellationToken);
        return TypedResults.Accepted(ModelUrl(found), ToResponse(state!));
    }

    /// <summary>
    /// Handles <c>POST /models/{model}/activate</c>: 200 with the model once it is active; 409 when some
    /// chunks have no embedding of it yet (the answer carries the progress).
    /// </summary>
    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> Activate(string model, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        var (found, problem) = await ResolveAsync(model, models, cancellationToken);
        if (found is null)
        {
            return problem!;
        }

        try
        {
            await models.ActivateAsync(found.Id, cancellationToken);
        }
        catch (ModelNotReadyException ex)
        {
            return TypedResults.Problem(title: "Model not fully backfilled", detail: ex.Message, statusCode: StatusCodes.Status409Conflict,
                extensions: new Dictionary<string, object?> { ["embedded"] = ex.State.Embedded, ["total"] = ex.State.TotalChunks });
        }

        return TypedResults.Ok(ToResponse((await models.GetStateAsync(found.Id, cancellationToken))!));
    }

    /// <summary>
    /// Handles <c>POST /models/{model}/reindex</c>: builds a new index for the model beside the old one, switches
    /// searches to it and drops the old one; answers 200 with the model (and its new index) when done, 409 when
    /// another process is building this model's index now. Useful after a bulk load into an IVFFlat model,
    /// whose lists are computed from the row count when the index is built. The build keeps going if the client
    /// disconnects, so a gateway timeout does not waste it.
    /// </summary>
    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> Reindex(string model, EmbeddingModelStore models,
        VectorIndexMaintenance maintenance, IHostApplicationLifetime lifetime, CancellationToken cancellationToken)
    {
        var (found, problem) = await ResolveAsync(model, models, cancellationToken);
        if (found is null)
        {
            return problem!;
        }

        var outcome = await maintenance.RebuildAsync(found, lifetime.ApplicationStopping);
        return outcome switch
        {
            IndexBuildOutcome.Busy => TypedResults.Problem(title: "Index build in progress",
                detail: $"Another process is building the index of model {found.Key}; try again when it is done (GET /models/{{model}} shows the index in use).",
                statusCode: StatusCodes.Status409Conflict),
            IndexBuildOutcome.NotFound => TypedResults.Problem(title: "Model not found", detail: $"Model {found.Key} was dropped meanwhile.",
                statusCode: StatusCodes.Status404NotFound),
            _ => TypedResults.Ok(ToResponse((await models.GetStateAsync(found.Id, cancellationToken))!)),
        };
    }

    /// <summary>Handles <c>DELETE /models/{model}</c>: 204 once the model, its embeddings and its index are gone; 409 for the active model.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> Drop(string model, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        var (found, problem) = await ResolveAsync(model, models, cancellationToken);
        if (found is null)
        {
            return problem!;
        }

        try
        {
            await models.DropAsync(found.Id, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            return TypedResults.Problem(title: "Active model", detail: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }

        return TypedResults.NoContent();
    }

    /// <summary>Relative URL of a model, by key.</summary>
    public static string ModelUrl(EmbeddingModel model) => "/models/" + Uri.EscapeDataString(model.Key);

    private static async Task<(EmbeddingModel? Model, ProblemHttpResult? Problem)> ResolveAsync(string reference, EmbeddingModelStore models, CancellationToken cancellationToken)
    {
        reference = Uri.UnescapeDataString(reference);
        try
        {
            var model = await models.FindAsync(reference, cancellationToken);
            return model is not null
                ? (model, null)
                : (null, TypedResults.Problem(title: "Model not found",
                    detail: $"No registered model is named '{reference}'. A model is registered when a service configured with it starts (Embedding or Embedding:Models:{{key}}); GET /models lists them.",
                    statusCode: StatusCodes.Status404NotFound));
        }
        catch (ArgumentException ex)
        {
            return (null, TypedResults.Problem(title: "Ambiguous model name", detail: ex.Message, statusCode: StatusCodes.Status400BadRequest));
        }
    }

    internal static ModelResponse ToResponse(EmbeddingModelState state) => new(
        state.Model.Id, state.Model.Key, state.Model.Name, state.Model.Dimensions, state.Model.Provider, state.Status, state.Enabled,
        new BackfillProgressResponse(state.Embedded, state.Failed, state.TotalChunks, Math.Floor(state.Progress * 1000) / 10,
            state.BackfillRequestedAt, state.BackfillCompletedAt, state.ActivateWhenComplete),
        ToResponse(state.Model), state.Model.ChunkTemplate);

    private static VectorIndexResponse ToResponse(EmbeddingModel model)
    {
        var hnsw = model.Index.Method == VectorIndexMethod.Hnsw;
        return new VectorIndexResponse(model.IndexName, model.Index.MethodName, model.Index.DistanceName,
            hnsw ? model.Index.HnswM : null, hnsw ? model.Index.HnswEfConstruction : null, hnsw ? null : model.Index.IvfFlatLists);
    }
}
