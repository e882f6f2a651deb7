/**
 * Open every menu of one app, as the logged-in user, and fail on any error dialog.
 *
 * Web's clickbot (@web/webclient/clickbot/clickbot) cannot run on a phone: it opens apps
 * through the desktop apps dropdown and menus through the navbar's sections, which the
 * small-screen web client replaces with a burger sidebar, and it switches views through
 * buttons the phone puts in a dropdown. This walks the same path a phone user takes:
 * burger > All Apps > the app, then burger > each menu; for each action it switches
 * through all its views and, in list and kanban views, opens the first record in its
 * form (clicking each notebook page) and comes back. On a desktop it opens the menus
 * through the menu service (clickbot clicks the navbar there) and does the same.
 */
import { App } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { rpcBus } from "@web/core/network/rpc";

export const SUCCESS_SIGNAL = "crm_retail click test succeeded";

const MOUSE_EVENTS = ["mouseover", "mouseenter", "mousedown", "mouseup", "click"];
const TIMEOUT = 30000;

let env;
const pendingRPC = {};
let lastFailedRPC;
let uiUpdates = 0;

function log(message) {
    browser.console.log(`[crm_retail click] ${message}`);
}

function onRPCRequest({ detail }) {
    pendingRPC[detail.data.id] = detail.url;
}

function onRPCResponse({ detail }) {
    delete pendingRPC[detail.data.id];
    if (detail.error) {
        lastFailedRPC = { ...detail };
    }
}

function onUIUpdated() {
    uiUpdates++;
}

function errorDialog() {
    const dialog = document.querySelector(".o_error_dialog");
    if (dialog) {
        const rpc = lastFailedRPC ? `\nRPC in error: ${JSON.stringify(lastFailedRPC)}` : "";
        throw new Error(`Error dialog detected: ${dialog.innerText}${rpc}`);
    }
}

function hasScheduledTask() {
    return [...App.apps].some((app) => app.scheduler.tasks.size > 0);
}

/** Wait until `condition` holds with no RPC pending and nothing left to render. */
async function waitFor(condition, description) {
    const start = Date.now();
    for (;;) {
        errorDialog();
        if (condition() && !Object.keys(pendingRPC).length && !hasScheduledTask()) {
            // One more frame: a render may schedule the next RPC.
            await nextFrame();
            errorDialog();
            if (condition() && !Object.keys(pendingRPC).length && !hasScheduledTask()) {
                return;
            }
        }
        if (Date.now() - start > TIMEOUT) {
            throw new Error(
                `Timeout waiting for ${description}; pending RPC: ` +
                    Object.values(pendingRPC).join(", ")
            );
        }
        await new Promise((resolve) => browser.setTimeout(resolve, 25));
    }
}

async function nextFrame() {
    await new Promise((resolve) => browser.setTimeout(resolve));
    await new Promise((resolve) => requestAnimationFrame(resolve));
}

async function click(target, description) {
    if (!target) {
        throw new Error(`No element "${description}" found.`);
    }
    log(`Clicking on: ${description}`);
    for (const type of MOUSE_EVENTS) {
        target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window }));
    }
    await nextFrame();
}

/** The open dialog that is not an error dialog (target="new" actions, wizards). */
function actionDialog() {
    return [...document.querySelectorAll(".o_dialog")].find(
        (dialog) => !dialog.querySelector(".o_error_dialog")
    );
}

/** The type of the view shown in the main action ("list", "form", ...). */
function currentViewType() {
    const controller = document.querySelector(".o_action_manager .o_view_controller");
    // The phone's form view is o_xxs_form_view.
    const match = controller?.className.match(/\bo_(?:xxs_)?([a-z]+)_view\b/);
    return match ? match[1] : null;
}

function breadcrumbDepth() {
    return env.services.action.currentController?.config?.breadcrumbs?.length || 0;
}

async function closeDialog(dialog, description) {
    // Desktop: the header's cross; phone (fullscreen dialog): the header's back arrow.
    await click(
        dialog.querySelector(".modal-header .btn-close, .modal-header .oi-arrow-left"),
        `close ${description}`
    );
    await waitFor(() => !actionDialog(), `${description} to close`);
}

/** Click each page of the notebooks in `root`: their content is only rendered when shown. */
async function clickNotebookPages(root, description) {
    const pages = root.querySelectorAll(".o_notebook_headers .nav-link:not(.active)");
    for (const page of pages) {
        if (page.isConnected) {
            await click(page, `${description} page "${page.innerText.trim()}"`);
            await waitFor(() => true, `${description} page`);
        }
    }
}

/** Switch to the view at `index` in the switcher (desktop buttons, phone dropdown items). */
async function switchTo(index, isSmall) {
    if (isSmall) {
        await click(
            document.querySelector(".o_control_panel div.o_cp_switch_buttons > button"),
            "view switcher"
        );
        await waitFor(
            () => document.querySelector(".o-dropdown--menu.o_cp_switch_buttons"),
            "view switcher dropdown"
        );
        const items = document.querySelectorAll(".o-dropdown--menu.o_cp_switch_buttons .dropdown-item");
        const item = items[index];
        if (item.classList.contains("selected")) {
            await click(
                document.querySelector(".o_control_panel div.o_cp_switch_buttons > button"),
                "view switcher (close)"
            );
            return;
        }
        const before = currentViewType();
        await click(item, `view "${item.innerText.trim()}"`);
        await waitFor(() => currentViewType() && currentViewType() !== before, "view switch");
    } else {
        const button = document.querySelectorAll("nav.o_cp_switch_buttons > button.o_switch_view")[
            index
        ];
        if (button.classList.contains("active")) {
            return;
        }
        const viewType = [...button.classList]
            .find((cls) => cls !== "o_switch_view" && cls.startsWith("o_"))
            .slice(2);
        // As the clickbot: let the previous click's debounce pass.
        await new Promise((resolve) => browser.setTimeout(resolve, 250));
        await click(button, `${viewType} view switcher`);
        await waitFor(() => currentViewType() === viewType, `${viewType} view`);
    }
}

function switcherLength(isSmall) {
    if (isSmall) {
        // The dropdown's items are only rendered when it is open: count the action's views.
        if (!document.querySelector(".o_control_panel div.o_cp_switch_buttons")) {
            return 0;
        }
        const views = env.services.action.currentController.action.views;
        return views.filter(([, type]) => !["form", "search"].includes(type)).length;
    }
    return document.querySelectorAll("nav.o_cp_switch_buttons > button.o_switch_view").length;
}

/** In a list or kanban view, open the first record; come back to the view. */
async function openFirstRecord(description) {
    const viewType = currentViewType();
    let target;
    if (viewType === "list") {
        if (!document.querySelector(".o_data_row")) {
            const group = document.querySelector(".o_list_renderer .o_group_header");
            if (group) {
                await click(group, `${description} first group`);
                await waitFor(() => true, "group to open");
            }
        }
        target = document.querySelector(".o_data_row .o_data_cell:not(.o_list_record_selector)");
    } else if (viewType === "kanban") {
        target = document.querySelector(".o_kanban_record:not(.o_kanban_ghost)");
    }
    if (!target) {
        return;
    }
    const depth = breadcrumbDepth();
    await click(target, `${description} first record`);
    await waitFor(() => true, "record to open");
    if (breadcrumbDepth() > depth && currentViewType() === "form") {
        log(`Opened a record of ${description} in its form`);
        await clickNotebookPages(document.querySelector(".o_action_manager"), description);
        // On a phone the breadcrumbs sit in the navbar.
        await click(document.querySelector(".o_back_button"), "back");
        await waitFor(() => currentViewType() === viewType, `${viewType} view again`);
    } else if (document.querySelector(".o_selected_row")) {
        // An editable list: the row is in edition; leave it untouched.
        await click(document.querySelector(".o_list_button_discard"), "discard");
        await waitFor(() => !document.querySelector(".o_selected_row"), "row edition to end");
    }
}

/** The action is open (in the main area or a dialog): try every view, open a record. */
async function testAction(description, isSmall) {
    const dialog = actionDialog();
    if (dialog) {
        log(`Dialog opened by ${description}`);
        await clickNotebookPages(dialog, description);
        await closeDialog(dialog, description);
        return;
    }
    await clickNotebookPages(document.querySelector(".o_action_manager"), description);
    await openFirstRecord(description);
    const count = switcherLength(isSmall);
    for (let index = 0; index < count; index++) {
        await switchTo(index, isSmall);
        log(`${description}: ${currentViewType()} view`);
        await openFirstRecord(`${description} (${currentViewType()})`);
    }
}

async function openBurger() {
    await waitFor(() => !document.querySelector(".o_app_menu_sidebar"), "burger menu to close");
    await click(document.querySelector(".o_main_navbar .o_menu_toggle"), "burger menu");
    await waitFor(() => document.querySelector(".o_app_menu_sidebar"), "burger menu");
    return document.querySelector(".o_app_menu_sidebar");
}

/** Open the menu (a click on an element, or a call), then wait for its action. */
async function openMenu(open, description) {
    const start = uiUpdates;
    await open();
    await waitFor(() => actionDialog() || uiUpdates > start, `${description} to open`);
}

/**
 * @param {string} appXmlid the app whose menus to open
 * @param {Object} options
 * @param {string[]} [options.expected] the xmlids of the menus that must be opened
 * @param {boolean} [options.signal] log the success signal at the end
 */
export async function run(appXmlid, { expected, signal = true } = {}) {
    env = odoo.__WOWL_DEBUG__.root.env;
    const isSmall = env.isSmall;
    rpcBus.addEventListener("RPC:REQUEST", onRPCRequest);
    rpcBus.addEventListener("RPC:RESPONSE", onRPCResponse);
    env.bus.addEventListener("ACTION_MANAGER:UI-UPDATED", onUIUpdated);
    const tested = [];
    try {
        await waitFor(() => document.querySelector(".o_main_navbar"), "the web client");
        const app = env.services.menu.getApps().find((menu) => menu.xmlid === appXmlid);
        if (!app) {
            throw new Error(`No app ${appXmlid} in the menus of this user`);
        }
        log(`Testing app ${appXmlid} on a ${isSmall ? "small" : "large"} screen`);
        if (isSmall) {
            await openMenu(async () => {
                const sidebar = await openBurger();
                await click(sidebar.querySelector(".o_sidebar_topbar a.btn-primary"), "All Apps");
                await waitFor(
                    () => sidebar.querySelector(`li.o_app[data-menu-xmlid="${appXmlid}"]`),
                    "the apps list"
                );
                await click(
                    sidebar.querySelector(`li.o_app[data-menu-xmlid="${appXmlid}"]`),
                    `app ${app.name}`
                );
            }, app.name);
        } else {
            await openMenu(() => env.services.menu.selectMenu(app), app.name);
        }
        const leaves = [];
        const collect = (menu) => {
            const tree = env.services.menu.getMenuAsTree(menu.id);
            if (tree.childrenTree.length) {
                tree.childrenTree.forEach(collect);
            } else if (tree.actionID) {
                leaves.push(tree);
            }
        };
        collect(app);
        for (const leaf of leaves) {
            const description = `menu "${leaf.name}" (${leaf.xmlid})`;
            log(`Testing ${description}`);
            if (isSmall) {
                await openMenu(async () => {
                    const sidebar = await openBurger();
                    await click(
                        sidebar.querySelector(`li[data-menu-xmlid="${leaf.xmlid}"]`),
                        `burger menu item ${leaf.name}`
                    );
                }, description);
            } else {
                await openMenu(() => env.services.menu.selectMenu(leaf), description);
            }
            await testAction(description, isSmall);
            tested.push(leaf.xmlid);
        }
        log(`Tested ${tested.length} menus: ${tested.join(", ")}`);
        if (expected && JSON.stringify([...expected].sort()) !== JSON.stringify([...tested].sort())) {
            throw new Error(`Expected to test ${expected.join(", ")}`);
        }
        if (signal) {
            browser.console.log(SUCCESS_SIGNAL);
        }
    } catch (error) {
        browser.console.error(`[crm_retail click] ${error.message || error}\n${error.stack || ""}`);
        throw error;
    } finally {
        rpcBus.removeEventListener("RPC:REQUEST", onRPCRequest);
        rpcBus.removeEventListener("RPC:RESPONSE", onRPCResponse);
        env.bus.removeEventListener("ACTION_MANAGER:UI-UPDATED", onUIUpdated);
    }
    return tested;
}
