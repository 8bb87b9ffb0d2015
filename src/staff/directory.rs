//! The directory of officers by commune (`/staff/directory`): who citizens who need a person are
//! sent to — grassroots mediators and justice officers of each commune, the State legal-aid centre
//! and the Sở Tư pháp. Every staff member reads it; admins edit entries and replace it from a CSV
//! file (all rows valid, or nothing changes). Audited.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::download::csv_response;
use super::error::PageError;
use super::html::{html, html_response, local_time, page, Html};
use super::labels;
use super::session::{Admin, Staff};
use super::StaffState;
use crate::db::{DirectoryEntry, DirectoryRole, NewDirectoryEntry};
use crate::platform::directory::{
    commune_key, parse_csv, to_csv, valid_phone, ImportErrors, MAX_FIELD_CHARS, PROVINCIAL,
};
use crate::text::{fold_case, strip_diacritics};

/// Largest pasted CSV, in bytes (five thousand rows of a few hundred bytes).
const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;

pub(super) fn routes() -> Router<StaffState> {
    Router::new()
        .route("/staff/directory", get(list))
        .route("/staff/directory.csv", get(export))
        .route("/staff/directory/import", post(import))
        .route("/staff/directory/save", post(save))
        .route("/staff/directory/{id}", get(edit_page))
        .route("/staff/directory/{id}/delete", post(delete))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    imported: Option<usize>,
}

async fn list(
    State(state): State<StaffState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let entries = state.db.directory().await?;
    Ok(html_response(
        StatusCode::OK,
        page(
            "Danh bạ cán bộ",
            staff.nav(),
            list_body(&staff, &entries, &query.q, query.imported, &[]),
        ),
    ))
}

fn list_body(
    staff: &Staff,
    entries: &[DirectoryEntry],
    filter: &str,
    imported: Option<usize>,
    errors: &[String],
) -> Html {
    let wanted = strip_diacritics(&fold_case(filter.trim()));
    let shown: Vec<&DirectoryEntry> = entries
        .iter()
        .filter(|e| {
            wanted.is_empty()
                || e.entry.commune_key.contains(&wanted)
                || strip_diacritics(&fold_case(&e.entry.name)).contains(&wanted)
        })
        .collect();
    let communes = entries
        .iter()
        .filter(|e| !e.is_provincial())
        .map(|e| &e.entry.commune_key)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let mut body = html!(
        "<h1>Danh bạ cán bộ theo xã, phường</h1>\
         <p class=\"muted\">Người dân cần gặp người được giới thiệu hòa giải viên ở cơ sở, công chức Tư pháp - Hộ tịch của xã, phường nơi họ ở, Trung tâm Trợ giúp pháp lý nhà nước tỉnh và Sở Tư pháp. \
         Tỉnh Quảng Ngãi (sau sắp xếp từ 01/7/2025) có chính quyền địa phương hai cấp: không còn cấp huyện. \
         Danh bạ hiện có {} mục của {} xã, phường, đặc khu. Danh sách xã, phường và người liên hệ phải được quản trị viên nhập từ danh sách chính thức và xác minh.</p>",
        entries.len(),
        communes
    );
    if let Some(count) = imported {
        body.push(html!(
            "<p class=\"ok\" role=\"status\">Đã nhập {} mục từ tệp CSV.</p>",
            count
        ));
    }
    if !errors.is_empty() {
        body.push(html!("<div class=\"card\" role=\"alert\" data-testid=\"import-errors\"><p class=\"error\">Tệp CSV chưa được nhập (không có thay đổi nào):</p><ul>"));
        for error in errors.iter().take(50) {
            body.push(html!("<li>{}</li>", error));
        }
        body.push(html!("</ul></div>"));
    }
    body.push(html!(
        "<form method=\"get\" action=\"/staff/directory\" class=\"card\"><label>Tìm xã, phường hoặc tên <input name=\"q\" value=\"{}\"></label> <button type=\"submit\">Tìm</button> · <a href=\"/staff/directory.csv\">Tải CSV</a></form>",
        filter
    ));
    body.push(html!("<table data-testid=\"directory\"><thead><tr><th>Xã, phường</th><th>Vai trò</th><th>Họ tên / đơn vị</th><th>Điện thoại</th><th>Giờ làm việc</th><th>Xác minh</th>{}</tr></thead><tbody>",
        if staff.is_admin() { html!("<th></th>") } else { Html::new() }));
    for entry in shown {
        let e = &entry.entry;
        body.push(html!(
            "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            e.commune,
            labels::role(e.role),
            e.name,
            if e.note.is_empty() {
                Html::new()
            } else {
                html!("<br><span class=\"muted\">{}</span>", e.note)
            },
            if e.phone.is_empty() {
                "—"
            } else {
                e.phone.as_str()
            },
            e.hours,
            if e.verified {
                "đã xác minh"
            } else {
                "chưa"
            },
            if staff.is_admin() {
                html!("<td><a href=\"/staff/directory/{}\">Sửa</a></td>", entry.id)
            } else {
                Html::new()
            }
        ));
    }
    body.push(html!("</tbody></table>"));
    if staff.is_admin() {
        body.push(entry_form(staff, None));
        body.push(html!(
            "<form method=\"post\" action=\"/staff/directory/import\" class=\"card\"><h2>Nhập cả danh bạ từ CSV</h2>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p class=\"muted\">Dán nội dung tệp CSV (UTF-8). Dòng đầu là tiêu đề với các cột: ma_xa, xa_phuong, vai_tro, ho_ten, dien_thoai, gio_lam_viec, dia_chi, ghi_chu, da_xac_minh. \
             vai_tro là hoa_giai_vien, tu_phap_xa, tro_giup_phap_ly hoặc so_tu_phap; để trống xa_phuong (hoặc ghi \"{}\") cho đơn vị cấp tỉnh. \
             Danh bạ hiện tại được thay thế toàn bộ nếu mọi dòng hợp lệ.</p>\
             <p><label for=\"csv\">Nội dung CSV</label><textarea id=\"csv\" name=\"csv\" required></textarea></p>\
             <p><button type=\"submit\">Nhập và thay thế danh bạ</button></p></form>",
            staff.csrf(),
            PROVINCIAL
        ));
    } else {
        body.push(html!(
            "<p class=\"muted\">Chỉ quản trị viên được sửa danh bạ.</p>"
        ));
    }
    body
}

fn entry_form(staff: &Staff, entry: Option<&DirectoryEntry>) -> Html {
    let empty = NewDirectoryEntry {
        commune_code: String::new(),
        commune: String::new(),
        commune_key: String::new(),
        role: DirectoryRole::Mediator,
        name: String::new(),
        phone: String::new(),
        hours: String::new(),
        address: String::new(),
        note: String::new(),
        verified: false,
    };
    let (id, e) = match entry {
        Some(entry) => (entry.id.to_string(), &entry.entry),
        None => (String::new(), &empty),
    };
    let mut roles = Html::new();
    for role in DirectoryRole::ALL {
        roles.push(html!(
            "<option value=\"{}\"{}>{}</option>",
            role.as_str(),
            Html::literal(if *role == e.role { " selected" } else { "" }),
            labels::role(*role)
        ));
    }
    html!(
        "<form method=\"post\" action=\"/staff/directory/save\" class=\"card\" data-testid=\"entry-form\"><h2>{}</h2>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
         <p><label>Xã, phường, đặc khu (để trống nếu là đơn vị cấp tỉnh) <input name=\"commune\" value=\"{}\" size=\"30\"></label> \
         <label>Mã xã <input name=\"commune_code\" value=\"{}\" size=\"8\"></label></p>\
         <p><label>Vai trò <select name=\"role\">{}</select></label> <label>Họ tên / đơn vị <input name=\"name\" value=\"{}\" size=\"40\" required></label></p>\
         <p><label>Điện thoại <input name=\"phone\" value=\"{}\"></label> <label>Giờ làm việc <input name=\"hours\" value=\"{}\" size=\"30\"></label></p>\
         <p><label>Địa chỉ <input name=\"address\" value=\"{}\" size=\"60\"></label></p>\
         <p><label>Ghi chú <input name=\"note\" value=\"{}\" size=\"80\"></label></p>\
         <p><label><input type=\"checkbox\" name=\"verified\" value=\"1\"{}> Đã xác minh tên, số điện thoại, giờ làm việc</label></p>\
         <p><button type=\"submit\">Lưu</button></p></form>",
        if entry.is_some() { "Sửa mục" } else { "Thêm mục" },
        staff.csrf(),
        id,
        if e.commune == PROVINCIAL { "" } else { e.commune.as_str() },
        e.commune_code,
        roles,
        e.name,
        e.phone,
        e.hours,
        e.address,
        e.note,
        Html::literal(if e.verified { " checked" } else { "" })
    )
}

async fn edit_page(
    State(state): State<StaffState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let entry = state
        .db
        .directory_entry(id)
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "Không tìm thấy mục này."))?;
    let mut body = entry_form(&admin, Some(&entry));
    body.push(html!(
        "<p class=\"muted\">Cập nhật lần cuối {}.</p><form method=\"post\" action=\"/staff/directory/{}/delete\" class=\"card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Xóa mục này</button></form>",
        local_time(&entry.updated_at),
        entry.id,
        admin.csrf()
    ));
    Ok(html_response(
        StatusCode::OK,
        page("Sửa danh bạ", admin.nav(), body),
    ))
}

#[derive(Deserialize)]
struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    commune: String,
    #[serde(default)]
    commune_code: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    verified: Option<String>,
}

async fn save(
    State(state): State<StaffState>,
    admin: Admin,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form.csrf)?;
    let refuse = |message: &str| Err(PageError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
    let fields = [
        &form.commune,
        &form.commune_code,
        &form.name,
        &form.phone,
        &form.hours,
        &form.address,
        &form.note,
    ];
    if fields
        .iter()
        .any(|f| f.chars().count() > MAX_FIELD_CHARS || f.chars().any(char::is_control))
    {
        return refuse("Một trường quá dài hoặc có ký tự không hợp lệ.");
    }
    let Some(role) = DirectoryRole::parse(&form.role) else {
        return refuse("Vai trò không hợp lệ.");
    };
    if form.name.trim().is_empty() {
        return refuse("Hãy nhập họ tên hoặc tên đơn vị.");
    }
    let phone = form.phone.trim().to_owned();
    if !phone.is_empty() && !valid_phone(&phone) {
        return refuse("Số điện thoại không hợp lệ.");
    }
    if !form
        .commune_code
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric())
    {
        return refuse("Mã xã chỉ được gồm chữ và số.");
    }
    let commune = match form.commune.trim() {
        "" => PROVINCIAL.to_owned(),
        name => name.to_owned(),
    };
    let entry = NewDirectoryEntry {
        commune_key: commune_key(&commune),
        commune,
        commune_code: form.commune_code.trim().to_owned(),
        role,
        name: form.name.trim().to_owned(),
        phone,
        hours: form.hours.trim().to_owned(),
        address: form.address.trim().to_owned(),
        note: form.note.trim().to_owned(),
        verified: form.verified.is_some(),
    };
    let id = form.id.trim().parse::<i64>().ok();
    match state.db.save_directory_entry(id, entry, admin.id()).await? {
        Some(_) => Ok(Redirect::to("/staff/directory").into_response()),
        None => Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Không tìm thấy mục này.",
        )),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn delete(
    State(state): State<StaffState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form.csrf)?;
    state.db.delete_directory_entry(id, admin.id()).await?;
    Ok(Redirect::to("/staff/directory").into_response())
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
}

async fn import(
    State(state): State<StaffState>,
    admin: Admin,
    Form(form): Form<ImportForm>,
) -> Result<Response, PageError> {
    admin.check_csrf(&form.csrf)?;
    let parsed = if form.csv.len() > MAX_IMPORT_BYTES {
        Err(ImportErrors(vec![format!(
            "Tệp lớn quá {} MB.",
            MAX_IMPORT_BYTES / 1024 / 1024
        )]))
    } else {
        parse_csv(&form.csv)
    };
    match parsed {
        Ok(entries) if !entries.is_empty() => {
            let stored = state
                .db
                .replace_directory(entries, Some(admin.id()))
                .await?;
            tracing::info!(staff = admin.id(), entries = stored, "directory imported");
            Ok(Redirect::to(&format!("/staff/directory?imported={stored}")).into_response())
        }
        Ok(_) => Ok(refused(&state, &admin, vec!["Tệp không có dòng nào.".into()]).await?),
        Err(ImportErrors(errors)) => Ok(refused(&state, &admin, errors).await?),
    }
}

async fn refused(
    state: &StaffState,
    admin: &Admin,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let entries = state.db.directory().await?;
    Ok(html_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        page(
            "Danh bạ cán bộ",
            admin.nav(),
            list_body(admin, &entries, "", None, &errors),
        ),
    ))
}

async fn export(State(state): State<StaffState>, staff: Staff) -> Result<Response, PageError> {
    let entries = state.db.directory().await?;
    let _ = state
        .db
        .audit(Some(staff.id()), "export_directory", None, None)
        .await;
    Ok(csv_response("danh-ba-can-bo.csv", &to_csv(&entries)))
}
